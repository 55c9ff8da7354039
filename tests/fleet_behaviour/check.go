package main

// check: each released-Fleet reader replayed against the live database (docs/architecture.md, section 7).

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/fullsailor/pkcs7"
)

// The asset names the readers use (Fleet's fleet.MDMAssetName).
const (
	assetCACert       = "ca_cert"
	assetCAKey        = "ca_key"
	assetHostIDCert   = "host_identity_ca_cert"
	assetHostIDKey    = "host_identity_ca_key"
	assetCondCert     = "conditional_access_ca_cert"
	assetCondKey      = "conditional_access_ca_key"
	assetIdPCert      = "conditional_access_idp_cert"
	assetIdPKey       = "conditional_access_idp_key"
	statusOK          = "ok"
	statusFailed      = "failed"
	statusAbsent      = "absent"
	appleDeviceDays   = 365
	hostIDDeviceDays  = 365
	condAccDeviceDays = 398
)

type report struct {
	Now          string                  `json:"now"`
	Database     string                  `json:"database"`
	Schema       schemaInfo              `json:"schema"`
	Verifier     verifierReport          `json:"apple_verifier"`
	Checkin      checkinReport           `json:"apple_checkin"`
	Depots       map[string]*depotReport `json:"scep_depots"`
	CARoot       caRootReport            `json:"caroot"`
	FileVault    fileVaultReport         `json:"filevault"`
	IdP          idpReport               `json:"idp"`
	Activities   activitiesReport        `json:"activities"`
	AssetCache   assetCacheReport        `json:"asset_cache"`
	depotOrder   []string
	deviceByHash map[string]*deviceCert
}

// certInfo describes one CA certificate as a reader saw it.
type certInfo struct {
	Subject      string `json:"subject"`
	SubjectDER   string `json:"subject_der"`
	SHA256       string `json:"sha256"`
	Serial       string `json:"serial"`
	NotBefore    string `json:"not_before"`
	NotAfter     string `json:"not_after"`
	SKI          string `json:"ski"`
	SPKISHA256   string `json:"spki_sha256"`
	EmptyCountry bool   `json:"empty_country"`
}

func describe(c *x509.Certificate) *certInfo {
	return &certInfo{
		Subject:      c.Subject.String(),
		SubjectDER:   hex.EncodeToString(c.RawSubject),
		SHA256:       sha256Hex(c.Raw),
		Serial:       c.SerialNumber.String(),
		NotBefore:    c.NotBefore.UTC().Format(time.RFC3339),
		NotAfter:     c.NotAfter.UTC().Format(time.RFC3339),
		SKI:          hex.EncodeToString(c.SubjectKeyId),
		SPKISHA256:   sha256Hex(c.RawSubjectPublicKeyInfo),
		EmptyCountry: emptyCountry(c.Subject),
	}
}

// deviceCert is one row of identity_certificates (or scep_certificates) and its verification.
type deviceCert struct {
	Serial   int64  `json:"serial"`
	SHA256   string `json:"sha256"`
	Revoked  bool   `json:"revoked"`
	Expired  bool   `json:"expired"`
	NotAfter string `json:"not_after"`
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
}

type verifierReport struct {
	Status    string        `json:"status"`
	Verified  int           `json:"verified"`
	Failed    int           `json:"failed"`
	ExpiredOK int           `json:"expired_ok"`
	Error     string        `json:"error,omitempty"`
	Root      *certInfo     `json:"root"`
	Certs     []*deviceCert `json:"certs"`
}

type enrollment struct {
	ID      string `json:"id"`
	SHA256  string `json:"sha256"`
	Serial  int64  `json:"serial"`
	Revoked bool   `json:"revoked"`
	Expired bool   `json:"expired"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
}

type checkinReport struct {
	Source       string        `json:"source"`
	Enrolled     int           `json:"enrolled"`
	OK           int           `json:"ok"`
	Disconnected int           `json:"disconnected"`
	Enrollments  []*enrollment `json:"enrollments"`
}

type signedCert struct {
	Serial   int64  `json:"serial"`
	SHA256   string `json:"sha256"`
	NotAfter string `json:"not_after"`
}

type depotReport struct {
	Status string      `json:"status"`
	Error  string      `json:"error,omitempty"`
	CA     *certInfo   `json:"ca"`
	Signed *signedCert `json:"signed"`
}

type caRootReport struct {
	Status string    `json:"status"`
	Error  string    `json:"error,omitempty"`
	Cert   *certInfo `json:"cert"`
}

type candidate struct {
	RowID  int64  `json:"row_id"`
	Live   bool   `json:"live"`
	SHA256 string `json:"sha256"`
	Serial string `json:"serial"`
}

type escrow struct {
	HostID    int64  `json:"host_id"`
	OK        bool   `json:"ok"`
	Recipient string `json:"recipient,omitempty"` // sha256 of the ca_cert that decrypted it
	Error     string `json:"error,omitempty"`
}

type fileVaultReport struct {
	Status     string       `json:"status"`
	Decrypted  int          `json:"decrypted"`
	Failed     int          `json:"failed"`
	Error      string       `json:"error,omitempty"`
	Candidates []*candidate `json:"candidates"`
	Hosts      []*escrow    `json:"hosts"`
}

type idpReport struct {
	Status string    `json:"status"`
	Error  string    `json:"error,omitempty"`
	Cert   *certInfo `json:"cert"`
}

type activity struct {
	ID             int64           `json:"id"`
	Type           string          `json:"type"`
	UserName       *string         `json:"user_name"`
	UserEmail      string          `json:"user_email"`
	FleetInitiated bool            `json:"fleet_initiated"`
	HostOnly       bool            `json:"host_only"`
	Streamed       bool            `json:"streamed"`
	CreatedAt      string          `json:"created_at"`
	Details        json.RawMessage `json:"details"`
	StepID         string          `json:"step_id,omitempty"`
	Listed         bool            `json:"listed"`
	Streamable     bool            `json:"streamable"`
}

type transition struct {
	Type       string `json:"type"`
	StepID     string `json:"step_id"`
	Listed     int    `json:"listed"`
	Streamable int    `json:"streamable"`
}

type activitiesReport struct {
	Table       string        `json:"table"`
	Listed      int           `json:"listed"`
	Streamable  int           `json:"streamable"`
	Items       []*activity   `json:"items"`
	Transitions []*transition `json:"transitions"`
}

type assetCacheReport struct {
	Rows         int     `json:"rows"`
	Live         int     `json:"live"`
	MD5Mismatch  []int64 `json:"md5_mismatch"`
	LiveMismatch int     `json:"live_md5_mismatch"`
}

func cmdCheck(args []string) int {
	f, err := parseFlags(args, []string{"now"}, []string{"json"})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleet-behaviour check: %v\n%s", err, usage)
		return 2
	}
	now, err := referenceNow(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleet-behaviour check: %v\n", err)
		return 2
	}
	rep, err := check(now)
	if err != nil {
		// Fail closed: nothing on stdout, so no count is ever printed that was not counted.
		fmt.Fprintf(os.Stderr, "fleet-behaviour check: %v\n", err)
		return 1
	}
	if f.bools["json"] {
		b, err := json.Marshal(rep)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fleet-behaviour check: %v\n", err)
			return 1
		}
		fmt.Println(string(b))
	} else {
		printText(os.Stdout, rep)
	}
	return 0
}

func check(now time.Time) (*report, error) {
	raw, found, err := secretFromEnv("FLEET_SERVER_PRIVATE_KEY", "FLEETCA_SERVER_PRIVATE_KEY_PATH")
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errors.New("the server private key is not set: set FLEET_SERVER_PRIVATE_KEY or " +
			"FLEETCA_SERVER_PRIVATE_KEY_PATH")
	}
	key, err := serverKey(raw)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := openStore(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	a, err := s.loadAssets(key, []string{assetCACert, assetCAKey, assetHostIDCert, assetHostIDKey, assetCondCert,
		assetCondKey, assetIdPCert, assetIdPKey}, []string{assetCACert})
	if err != nil {
		return nil, err
	}
	rep := &report{
		Now:          now.Format(time.RFC3339),
		Database:     envOr("FLEET_MYSQL_DATABASE", "fleet"),
		Schema:       s.schema,
		Depots:       map[string]*depotReport{},
		depotOrder:   []string{"apple", "host_identity", "conditional_access"},
		deviceByHash: map[string]*deviceCert{},
	}
	rep.AssetCache = assetCache(a)

	// The Apple root: the first certificate of the live ca_cert, and nothing else.
	var root *x509.Certificate
	var rootErr error
	if p := a.plain(assetCACert); p != nil {
		root, rootErr = firstCert(p)
		if rootErr != nil {
			rootErr = fmt.Errorf("ca_cert: %v", rootErr)
		}
	} else {
		rootErr = errors.New("no live ca_cert row")
	}
	if err := appleVerifier(s, root, rootErr, a.plain(assetCACert) == nil, now, rep); err != nil {
		return nil, err
	}
	if err := appleCheckin(s, rep); err != nil {
		return nil, err
	}
	if root != nil {
		rep.CARoot = caRootReport{Status: statusOK, Cert: describe(root)}
	} else if a.plain(assetCACert) == nil {
		rep.CARoot = caRootReport{Status: statusAbsent}
	} else {
		rep.CARoot = caRootReport{Status: statusFailed, Error: rootErr.Error()}
	}

	devRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	devEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	uuid := newUUID()
	uri, _ := url.Parse("urn:device:apple:uuid:" + uuid)
	reqs := map[string]deviceRequest{
		"apple": {subject: pkix.Name{Organization: []string{"Fleet"},
			OrganizationalUnit: []string{"Fleet Device Enrollment"}, CommonName: "Fleet Identity"}, pub: &devRSA.PublicKey},
		"host_identity":      {subject: pkix.Name{CommonName: uuid}, pub: &devEC.PublicKey},
		"conditional_access": {subject: pkix.Name{CommonName: "Fleet conditional access for Okta"}, uris: []*url.URL{uri}, pub: &devRSA.PublicKey},
	}
	names := map[string][2]string{"apple": {assetCACert, assetCAKey}, "host_identity": {assetHostIDCert, assetHostIDKey},
		"conditional_access": {assetCondCert, assetCondKey}}
	serialTables := map[string]string{"apple": s.schema.IdentitySerials, "host_identity": "host_identity_scep_serials",
		"conditional_access": "conditional_access_scep_serials"}
	days := map[string]int{"apple": appleDeviceDays, "host_identity": hostIDDeviceDays,
		"conditional_access": condAccDeviceDays}
	for _, d := range rep.depotOrder {
		serial, err := nextSerial(s, serialTables[d])
		if err != nil {
			return nil, err
		}
		rep.Depots[d] = depot(a, names[d][0], names[d][1], d == "apple", reqs[d], serial, days[d], now)
	}
	if err := fileVault(s, a, rep); err != nil {
		return nil, err
	}
	rep.IdP = idp(a)
	if err := activities(s, rep); err != nil {
		return nil, err
	}
	if err := s.tx.Commit(); err != nil {
		return nil, fmt.Errorf("end of the read-only transaction: %v", err)
	}
	s.tx = nil
	return rep, nil
}

func assetCache(a *assets) assetCacheReport {
	r := assetCacheReport{Rows: len(a.rows), MD5Mismatch: []int64{}}
	for _, row := range a.rows {
		if row.live {
			r.Live++
		}
		if !row.md5OK {
			r.MD5Mismatch = append(r.MD5Mismatch, row.id)
			if row.live {
				r.LiveMismatch++
			}
		}
	}
	return r
}

// appleVerifier verifies every identity certificate once (revoked ones too: check-in looks them
// up by hash), and counts the live (revoked = 0) ones as the verifier's result.
func appleVerifier(s *store, root *x509.Certificate, rootErr error, rootAbsent bool, now time.Time,
	rep *report) error {
	v := &rep.Verifier
	v.Certs = []*deviceCert{}
	if root != nil {
		v.Root = describe(root)
	}
	rows, err := s.query("SELECT serial, revoked, certificate_pem FROM " + s.schema.IdentityCerts + " ORDER BY serial")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		d := &deviceCert{}
		var pemText string
		if err := rows.Scan(&d.Serial, &d.Revoked, &pemText); err != nil {
			return err
		}
		block, _ := pem.Decode([]byte(pemText))
		if block != nil {
			d.SHA256 = sha256Hex(block.Bytes)
			rep.deviceByHash[d.SHA256] = d
		}
		cert, err := firstCert([]byte(pemText))
		switch {
		case err != nil:
			d.Error = "certificate_pem: " + err.Error()
		case rootErr != nil:
			d.Expired, d.NotAfter = now.After(cert.NotAfter), cert.NotAfter.UTC().Format(time.RFC3339)
			d.Error = "root: " + rootErr.Error()
		default:
			d.Expired, d.NotAfter = now.After(cert.NotAfter), cert.NotAfter.UTC().Format(time.RFC3339)
			if err := verifyAppleDevice(root, cert, now); err != nil {
				d.Error = err.Error()
			} else {
				d.OK = true
			}
		}
		if d.Revoked {
			continue
		}
		v.Certs = append(v.Certs, d)
		switch {
		case !d.OK:
			v.Failed++
		case d.Expired:
			v.ExpiredOK++
		default:
			v.Verified++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	switch {
	case rootAbsent && len(v.Certs) == 0:
		v.Status = statusAbsent
		v.Error = rootErr.Error()
	case rootErr != nil:
		v.Status, v.Error = statusFailed, rootErr.Error()
	case v.Failed > 0:
		v.Status = statusFailed
	default:
		v.Status = statusOK
	}
	return nil
}

// appleCheckin: an enrolled device checks in with its newest identity certificate. The newest
// association per enrollment id is chosen as Fleet's GetHostCertAssociationsToExpire chooses it
// (the association query RenewSCEPCertificates runs on): greatest created_at, ties broken by the
// smallest sha256; a NULL created_at sorts as the oldest, as MySQL orders NULL last in DESC.
// Without nano_cert_auth_associations every live certificate is one device.
func appleCheckin(s *store, rep *report) error {
	c := &rep.Checkin
	c.Enrollments = []*enrollment{}
	add := func(e *enrollment) {
		c.Enrollments = append(c.Enrollments, e)
		c.Enrolled++
		if e.OK {
			c.OK++
		} else {
			c.Disconnected++
		}
	}
	fill := func(e *enrollment) {
		d, ok := rep.deviceByHash[e.SHA256]
		if !ok {
			e.Error = "no certificate with this sha256 in " + s.schema.IdentityCerts
			return
		}
		e.Serial, e.Revoked, e.Expired, e.OK, e.Error = d.Serial, d.Revoked, d.Expired, d.OK, d.Error
	}
	if !s.schema.Associations {
		c.Source = s.schema.IdentityCerts
		for _, d := range rep.Verifier.Certs {
			e := &enrollment{ID: fmt.Sprintf("serial:%d", d.Serial), SHA256: d.SHA256}
			fill(e)
			add(e)
		}
		return nil
	}
	c.Source = "nano_cert_auth_associations"
	type newest struct {
		sha     string
		created sql.NullTime
	}
	best := map[string]*newest{}
	rows, err := s.query("SELECT id, sha256, created_at FROM nano_cert_auth_associations")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, sha string
		var created sql.NullTime
		if err := rows.Scan(&id, &sha, &created); err != nil {
			return err
		}
		sha = strings.ToLower(sha)
		if b, ok := best[id]; !ok || sortsFirst(created, sha, b.created, b.sha) {
			best[id] = &newest{sha: sha, created: created}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	ids := make([]string, 0, len(best))
	for id := range best {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		e := &enrollment{ID: id, SHA256: best[id].sha}
		fill(e)
		add(e)
	}
	return nil
}

// sortsFirst is ORDER BY created_at DESC, sha256 ASC: is (ca, sa) before (cb, sb)?
func sortsFirst(ca sql.NullTime, sa string, cb sql.NullTime, sb string) bool {
	if ca.Valid != cb.Valid {
		return ca.Valid
	}
	if ca.Valid && !ca.Time.Equal(cb.Time) {
		return ca.Time.After(cb.Time)
	}
	return sa < sb
}

func nextSerial(s *store, table string) (int64, error) {
	if !s.tables[table] {
		return 2, nil
	}
	var n int64
	if err := s.tx.QueryRowContext(s.ctx, "SELECT COALESCE(MAX(serial), 1) + 1 FROM "+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("max serial of %s: %v", table, err)
	}
	return n, nil
}

// depot replays a SCEP depot (SCEPDepot.CA and the signer): tls.X509KeyPair on the live pair, the
// key type-asserted to RSA, a new device certificate signed with the leaf, and that certificate
// verified against the first block of the same cert row (for Apple: by the Apple verifier).
func depot(a *assets, certName, keyName string, apple bool, req deviceRequest, serial int64, days int,
	now time.Time) *depotReport {
	certPEM, keyPEM := a.plain(certName), a.plain(keyName)
	switch {
	case certPEM == nil && keyPEM == nil:
		return &depotReport{Status: statusAbsent}
	case certPEM == nil:
		return &depotReport{Status: statusFailed, Error: "no live " + certName + " row"}
	case keyPEM == nil:
		return &depotReport{Status: statusFailed, Error: "no live " + keyName + " row"}
	}
	fail := func(r *depotReport, format string, args ...interface{}) *depotReport {
		r.Status, r.Error = statusFailed, fmt.Sprintf(format, args...)
		return r
	}
	r := &depotReport{}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fail(r, "tls.X509KeyPair: %v", err)
	}
	caKey, ok := pair.PrivateKey.(*rsa.PrivateKey)
	if !ok {
		return fail(r, "the key is %T, not *rsa.PrivateKey", pair.PrivateKey)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fail(r, "leaf: %v", err)
	}
	r.CA = describe(leaf)
	der, err := signDevice(leaf, caKey, req, serial, now, days)
	if err != nil {
		return fail(r, "signing a device certificate: %v", err)
	}
	dev, err := x509.ParseCertificate(der)
	if err != nil {
		return fail(r, "the signed certificate does not parse: %v", err)
	}
	r.Signed = &signedCert{Serial: serial, SHA256: sha256Hex(der), NotAfter: dev.NotAfter.UTC().Format(time.RFC3339)}
	root, err := firstCert(certPEM)
	if err != nil {
		return fail(r, "%s: %v", certName, err)
	}
	if apple {
		err = verifyAppleDevice(root, dev, now)
	} else {
		opts := x509.VerifyOptions{Roots: x509.NewCertPool(), CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		opts.Roots.AddCert(root)
		_, err = dev.Verify(opts)
	}
	if err != nil {
		return fail(r, "a new enrolment does not verify: %v", err)
	}
	r.Status = statusOK
	return r
}

// fileVault decrypts every darwin escrow as Fleet does (CACertsAndKeyForDecryption and
// DecryptBase64CMSWithCerts): the live ca_cert/ca_key pair gives the one key; the candidates are
// the first block of every ca_cert row, live and soft-deleted, newest first, whose public key
// equals that key's (the leaf alone when none does); the first candidate that decrypts wins.
func fileVault(s *store, a *assets, rep *report) error {
	fv := &rep.FileVault
	fv.Candidates, fv.Hosts = []*candidate{}, []*escrow{}
	if !s.schema.Escrows {
		fv.Status = statusAbsent
		return nil
	}
	var key crypto.PrivateKey
	var certs []*x509.Certificate
	var setupErr error
	certPEM, keyPEM := a.plain(assetCACert), a.plain(assetCAKey)
	if certPEM == nil || keyPEM == nil {
		setupErr = errors.New("no live ca_cert/ca_key pair")
	} else if pair, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		setupErr = fmt.Errorf("tls.X509KeyPair(ca_cert, ca_key): %v", err)
	} else if signer, ok := pair.PrivateKey.(crypto.Signer); !ok {
		setupErr = errors.New("ca_key is not a crypto.Signer")
	} else {
		key = pair.PrivateKey
		pub := signer.Public()
		for i := len(a.rows) - 1; i >= 0; i-- {
			row := a.rows[i]
			if row.name != assetCACert {
				continue
			}
			c, err := firstCert(row.plain)
			if err != nil {
				continue
			}
			if eq, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(pub) {
				certs = append(certs, c)
				fv.Candidates = append(fv.Candidates, &candidate{RowID: row.id, Live: row.live,
					SHA256: sha256Hex(c.Raw), Serial: c.SerialNumber.String()})
			}
		}
		if len(certs) == 0 {
			leaf, err := x509.ParseCertificate(pair.Certificate[0])
			if err != nil {
				setupErr = err
			} else {
				certs = append(certs, leaf)
				fv.Candidates = append(fv.Candidates, &candidate{RowID: a.live[assetCACert].id, Live: true,
					SHA256: sha256Hex(leaf.Raw), Serial: leaf.SerialNumber.String()})
			}
		}
	}
	rows, err := s.query("SELECT k.host_id, k.base64_encrypted FROM host_disk_encryption_keys k " +
		"JOIN hosts h ON h.id = k.host_id WHERE h.platform = 'darwin' ORDER BY k.host_id")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		e := &escrow{}
		var b64 string
		if err := rows.Scan(&e.HostID, &b64); err != nil {
			return err
		}
		if setupErr != nil {
			e.Error = setupErr.Error()
		} else {
			e.Recipient, e.Error = decryptEscrow(b64, key, certs)
			e.OK = e.Error == ""
		}
		fv.Hosts = append(fv.Hosts, e)
		if e.OK {
			fv.Decrypted++
		} else {
			fv.Failed++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	switch {
	case setupErr != nil:
		fv.Status, fv.Error = statusFailed, setupErr.Error()
	case fv.Failed > 0:
		fv.Status = statusFailed
	default:
		fv.Status = statusOK
	}
	return nil
}

func decryptEscrow(b64 string, key crypto.PrivateKey, certs []*x509.Certificate) (recipient, errText string) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", "base64: " + err.Error()
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return "", "CMS: " + err.Error()
	}
	var errs []string
	for _, c := range certs {
		if _, err := p7.Decrypt(c, key); err == nil {
			return sha256Hex(c.Raw), ""
		} else {
			errs = append(errs, err.Error())
		}
	}
	return "", strings.Join(errs, "; ")
}

// idp replays parseCertAndKeyBytes: the first PEM block of the cert must be a CERTIFICATE; the
// key's first block must be exactly "RSA PRIVATE KEY" (PKCS#1). It then signs as the SAML IdP does
// and checks the signature with the published certificate (a key that does not match the
// certificate makes every assertion fail at the identity provider).
func idp(a *assets) idpReport {
	certPEM, keyPEM := a.plain(assetIdPCert), a.plain(assetIdPKey)
	switch {
	case certPEM == nil && keyPEM == nil:
		return idpReport{Status: statusAbsent}
	case certPEM == nil:
		return idpReport{Status: statusFailed, Error: "no live " + assetIdPCert + " row"}
	case keyPEM == nil:
		return idpReport{Status: statusFailed, Error: "no live " + assetIdPKey + " row"}
	}
	cert, err := firstCert(certPEM)
	if err != nil {
		return idpReport{Status: statusFailed, Error: "certificate: " + err.Error()}
	}
	r := idpReport{Cert: describe(cert)}
	block, _ := pem.Decode(keyPEM)
	if block == nil || block.Type != "RSA PRIVATE KEY" {
		typ := "no PEM block"
		if block != nil {
			typ = fmt.Sprintf("a %q block", block.Type)
		}
		r.Status, r.Error = statusFailed, "key: "+typ+", not RSA PRIVATE KEY"
		return r
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		r.Status, r.Error = statusFailed, "key: "+err.Error()
		return r
	}
	msg := []byte("fleet-behaviour SAML signing probe")
	sum := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err == nil {
		err = cert.CheckSignature(x509.SHA256WithRSA, msg, sig)
	}
	if err != nil {
		r.Status, r.Error = statusFailed, "the key does not match the certificate: "+err.Error()
		return r
	}
	r.Status = statusOK
	return r
}

// activities runs Fleet's two queries: GET /api/v1/fleet/activities (host_only = 0) and the
// audit-log stream (streamed = 0 AND host_only = 0, in id order), and lists every row with what
// each query made of it.
func activities(s *store, rep *report) error {
	ar := &rep.Activities
	ar.Table = s.schema.Activities
	ar.Items, ar.Transitions = []*activity{}, []*transition{}
	ids := func(q string) (map[int64]bool, int, error) {
		rows, err := s.query(q)
		if err != nil {
			return nil, 0, err
		}
		defer rows.Close()
		m := map[int64]bool{}
		n := 0
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, 0, err
			}
			m[id] = true
			n++
		}
		return m, n, rows.Err()
	}
	listed, nl, err := ids("SELECT a.id FROM " + ar.Table + " a WHERE a.host_only = false ORDER BY a.id")
	if err != nil {
		return err
	}
	streamable, ns, err := ids("SELECT id FROM " + ar.Table + " WHERE streamed = false AND host_only = false " +
		"ORDER BY id ASC")
	if err != nil {
		return err
	}
	ar.Listed, ar.Streamable = nl, ns
	rows, err := s.query("SELECT id, created_at, activity_type, user_name, user_email, fleet_initiated, host_only, " +
		"streamed, details FROM " + ar.Table + " ORDER BY id")
	if err != nil {
		return err
	}
	defer rows.Close()
	byKey := map[[2]string]*transition{}
	for rows.Next() {
		it := &activity{}
		var created time.Time
		var user sql.NullString
		var details []byte
		if err := rows.Scan(&it.ID, &created, &it.Type, &user, &it.UserEmail, &it.FleetInitiated, &it.HostOnly,
			&it.Streamed, &details); err != nil {
			return err
		}
		it.CreatedAt = created.UTC().Format(time.RFC3339Nano)
		if user.Valid {
			u := user.String
			it.UserName = &u
		}
		if details != nil && json.Valid(details) {
			it.Details = json.RawMessage(details)
			var d map[string]interface{}
			if json.Unmarshal(details, &d) == nil {
				if v, ok := d["step_id"].(string); ok {
					it.StepID = v
				}
			}
		} else if details != nil {
			b, _ := json.Marshal(string(details))
			it.Details = b
		} else {
			it.Details = json.RawMessage("null")
		}
		it.Listed, it.Streamable = listed[it.ID], streamable[it.ID]
		ar.Items = append(ar.Items, it)
		if !it.Listed {
			continue
		}
		k := [2]string{it.Type, it.StepID}
		t := byKey[k]
		if t == nil {
			t = &transition{Type: it.Type, StepID: it.StepID}
			byKey[k] = t
			ar.Transitions = append(ar.Transitions, t)
		}
		t.Listed++
		if it.Streamable {
			t.Streamable++
		}
	}
	return rows.Err()
}

func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
}

func failedList(what string, items []string) string {
	if len(items) == 0 {
		return ""
	}
	more := ""
	if len(items) > 10 {
		more = fmt.Sprintf(", and %d more", len(items)-10)
		items = items[:10]
	}
	return fmt.Sprintf(" (%s %s%s)", what, strings.Join(items, ", "), more)
}

func printText(w io.Writer, r *report) {
	v := r.Verifier
	if v.Status == statusAbsent {
		fmt.Fprintf(w, "apple-verifier: absent\n")
	} else {
		var bad []string
		for _, d := range v.Certs {
			if !d.OK {
				bad = append(bad, fmt.Sprint(d.Serial))
			}
		}
		extra := failedList("serials", bad)
		if v.Error != "" {
			extra += ": " + v.Error
		}
		fmt.Fprintf(w, "apple-verifier: %d verified, %d failed, %d expired-ok%s\n", v.Verified, v.Failed, v.ExpiredOK, extra)
	}
	c := r.Checkin
	var bad []string
	for _, e := range c.Enrollments {
		if !e.OK {
			bad = append(bad, e.ID)
		}
	}
	fmt.Fprintf(w, "apple-checkin: %d enrolled, %d ok, %d disconnected%s\n", c.Enrolled, c.OK, c.Disconnected,
		failedList("enrollments", bad))
	for _, d := range r.depotOrder {
		dr := r.Depots[d]
		name := strings.ReplaceAll(d, "_", "-")
		switch dr.Status {
		case statusOK:
			fmt.Fprintf(w, "scep-depot %s: ok\n", name)
		case statusAbsent:
			fmt.Fprintf(w, "scep-depot %s: absent\n", name)
		default:
			fmt.Fprintf(w, "scep-depot %s: FAILED: %s\n", name, dr.Error)
		}
	}
	switch r.CARoot.Status {
	case statusOK:
		ec := "no"
		if r.CARoot.Cert.EmptyCountry {
			ec = "yes"
		}
		fmt.Fprintf(w, "caroot: subject=%s sha256=%s empty-country=%s\n", r.CARoot.Cert.Subject, r.CARoot.Cert.SHA256, ec)
	case statusAbsent:
		fmt.Fprintf(w, "caroot: absent\n")
	default:
		fmt.Fprintf(w, "caroot: FAILED: %s\n", r.CARoot.Error)
	}
	fv := r.FileVault
	if fv.Status == statusAbsent {
		fmt.Fprintf(w, "filevault: absent\n")
	} else {
		var badHosts []string
		for _, h := range fv.Hosts {
			if !h.OK {
				badHosts = append(badHosts, fmt.Sprint(h.HostID))
			}
		}
		fmt.Fprintf(w, "filevault: %d decrypted, %d failed%s\n", fv.Decrypted, fv.Failed, failedList("hosts", badHosts))
	}
	switch r.IdP.Status {
	case statusOK:
		fmt.Fprintf(w, "idp: ok\n")
	case statusAbsent:
		fmt.Fprintf(w, "idp: absent\n")
	default:
		fmt.Fprintf(w, "idp: FAILED: %s\n", r.IdP.Error)
	}
	fmt.Fprintf(w, "activities: %d listed, %d streamable\n", r.Activities.Listed, r.Activities.Streamable)
	fmt.Fprintf(w, "asset-cache: %d rows, %d md5 mismatches\n", r.AssetCache.Rows, len(r.AssetCache.MD5Mismatch))
}
