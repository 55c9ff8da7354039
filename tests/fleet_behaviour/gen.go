package main

// gen: SQL for a test database of our own, made with crypto/x509 the way Fleet makes its rows
// (subjects, SKI, serials, issued-certificate tables, FileVault escrows), with other numbers than
// the fleet-dev fixture.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/fullsailor/pkcs7"
)

type genCA struct {
	cert    *x509.Certificate
	key     *rsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

// genExpect is what the generated database holds, for the tests to compare with check's counts.
type genExpect struct {
	AppleVerifier struct {
		Verified  int `json:"verified"`
		Failed    int `json:"failed"`
		ExpiredOK int `json:"expired_ok"`
		Revoked   int `json:"revoked"`
	} `json:"apple_verifier"`
	AppleCheckin struct {
		Enrolled     int `json:"enrolled"`
		OK           int `json:"ok"`
		Disconnected int `json:"disconnected"`
		Renewed      int `json:"renewed"`
	} `json:"apple_checkin"`
	FileVault struct {
		Decrypted int `json:"decrypted"`
		Failed    int `json:"failed"`
		Ignored   int `json:"ignored_non_darwin"`
	} `json:"filevault"`
	HostIdentity      map[string]int    `json:"host_identity_certificates"`
	ConditionalAccess map[string]int    `json:"conditional_access_certificates"`
	CAs               map[string]string `json:"ca_sha256"`
	CARootSubject     string            `json:"caroot_subject"`
	CARootEmptyC      bool              `json:"caroot_empty_country"`
}

// newCA is depot.NewCACert(...).SelfSign as it behaves: serial 1, RSA-2048, no AKI, SKI from
// the key, CA:TRUE without pathLen, the given key usage, NotAfter = NotBefore + years.
func newCA(subject pkix.Name, usage x509.KeyUsage, created time.Time, years int) (*genCA, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               subject,
		NotBefore:             created,
		NotAfter:              created.AddDate(years, 0, 0),
		KeyUsage:              usage,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &genCA{cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})}, nil
}

func fleetSubject(country, org, cn string) pkix.Name {
	return pkix.Name{Country: []string{country}, Organization: []string{org},
		OrganizationalUnit: []string{"SCEP CA"}, CommonName: cn}
}

func sqlStr(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

func sqlTime(t time.Time) string {
	return "'" + t.UTC().Format("2006-01-02 15:04:05") + "'"
}

func cmdGen(args []string) int {
	f, err := parseFlags(args, []string{"schema", "now", "key"}, nil)
	if err == nil && f.vals["schema"] != "new" && f.vals["schema"] != "old" {
		err = fmt.Errorf("--schema must be new or old")
	}
	raw := []byte(f.vals["key"])
	if err == nil && len(raw) == 0 {
		// The key may come from the environment, as check reads it, to keep it out of argv.
		var found bool
		raw, found, err = secretFromEnv("FLEET_SERVER_PRIVATE_KEY", "FLEETCA_SERVER_PRIVATE_KEY_PATH")
		if err == nil && !found {
			err = fmt.Errorf("--key (or FLEET_SERVER_PRIVATE_KEY) is required")
		}
	}
	if err == nil && f.vals["now"] == "" {
		err = fmt.Errorf("--now is required")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleet-behaviour gen: %v\n%s", err, usage)
		return 2
	}
	now, err := referenceNow(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleet-behaviour gen: %v\n", err)
		return 2
	}
	key, err := serverKey(raw)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleet-behaviour gen: %v\n", err)
		return 2
	}
	w := bufio.NewWriter(os.Stdout)
	if err := gen(w, f.vals["schema"] == "new", now.Truncate(time.Second), key); err != nil {
		fmt.Fprintf(os.Stderr, "fleet-behaviour gen: %v\n", err)
		return 1
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(os.Stderr, "fleet-behaviour gen: %v\n", err)
		return 1
	}
	return 0
}

func gen(w io.Writer, newSchema bool, now time.Time, key []byte) error {
	day := 24 * time.Hour
	ago := func(days int, seconds int) time.Time {
		return now.Add(-time.Duration(days)*day - time.Duration(seconds)*time.Second)
	}
	exp := &genExpect{HostIdentity: map[string]int{}, ConditionalAccess: map[string]int{}, CAs: map[string]string{}}
	identityCerts, identitySerials := "identity_certificates", "identity_serials"
	if !newSchema {
		identityCerts, identitySerials = "scep_certificates", "scep_serials"
	}

	// The four CAs as pre-#40081 Fleet made them (empty Country); the host identity CA as newer
	// Fleet makes it (C=US, digitalSignature added), so both generations of Fleet's code are read.
	apple, err := newCA(fleetSubject("", "scep-ca", "Fleet"), x509.KeyUsageCertSign|x509.KeyUsageCRLSign,
		ago(770, 4321), 10)
	if err != nil {
		return err
	}
	hostID, err := newCA(fleetSubject("US", "Local Certificate Authority", "Fleet Host Identity CA"),
		x509.KeyUsageCertSign|x509.KeyUsageCRLSign|x509.KeyUsageDigitalSignature, ago(465, 777), 10)
	if err != nil {
		return err
	}
	condAcc, err := newCA(fleetSubject("", "Local certificate authority", "Fleet conditional access CA"),
		x509.KeyUsageCertSign|x509.KeyUsageCRLSign, ago(600, 99), 10)
	if err != nil {
		return err
	}
	idpCA, err := newCA(fleetSubject("", "Local certificate authority", "Fleet conditional access IdP"),
		x509.KeyUsageCertSign|x509.KeyUsageCRLSign, ago(600, 98), 10)
	if err != nil {
		return err
	}
	devRSA, err := rsa.GenerateKey(rand.Reader, 2048) // one device key for every RSA device: keygen is slow
	if err != nil {
		return err
	}
	exp.CAs["apple_scep"] = sha256Hex(apple.cert.Raw)
	exp.CAs["host_identity"] = sha256Hex(hostID.cert.Raw)
	exp.CAs["conditional_access"] = sha256Hex(condAcc.cert.Raw)
	exp.CAs["conditional_access_idp"] = sha256Hex(idpCA.cert.Raw)
	exp.CARootSubject = apple.cert.Subject.String()
	exp.CARootEmptyC = emptyCountry(apple.cert.Subject)

	var out strings.Builder
	p := func(format string, args ...interface{}) { fmt.Fprintf(&out, format, args...) }
	p("SET NAMES utf8mb4;\nSET time_zone = '+00:00';\n\n")

	// mdm_config_assets, encrypted and checksummed as Fleet's insertMDMConfigAssets does.
	type asset struct {
		name    string
		plain   []byte
		created time.Time
		renewAt *time.Time
	}
	na := func(c *genCA) *time.Time { t := c.cert.NotAfter; return &t }
	challenge := make([]byte, 16)
	if _, err := rand.Read(challenge); err != nil {
		return err
	}
	list := []asset{
		{assetCACert, apple.certPEM, apple.cert.NotBefore, na(apple)},
		{assetCAKey, apple.keyPEM, apple.cert.NotBefore, nil},
		{"scep_challenge", []byte(fmt.Sprintf("%x", challenge)), apple.cert.NotBefore, nil},
		{assetHostIDCert, hostID.certPEM, hostID.cert.NotBefore, na(hostID)},
		{assetHostIDKey, hostID.keyPEM, hostID.cert.NotBefore, nil},
		{assetCondCert, condAcc.certPEM, condAcc.cert.NotBefore, na(condAcc)},
		{assetCondKey, condAcc.keyPEM, condAcc.cert.NotBefore, nil},
		{assetIdPCert, idpCA.certPEM, idpCA.cert.NotBefore, na(idpCA)},
		{assetIdPKey, idpCA.keyPEM, idpCA.cert.NotBefore, nil},
	}
	for _, a := range list {
		ct, err := encryptAsset(key, a.plain)
		if err != nil {
			return err
		}
		sum := md5.Sum(ct)
		cols, vals := "name, value, md5_checksum, created_at", fmt.Sprintf("%s, X'%X', UNHEX('%X'), %s",
			sqlStr(a.name), ct, sum[:], sqlTime(a.created))
		if newSchema {
			cols += ", renew_at"
			if a.renewAt != nil {
				vals += ", " + sqlTime(*a.renewAt)
			} else {
				vals += ", NULL"
			}
		}
		p("INSERT INTO mdm_config_assets (%s) VALUES (%s);\n", cols, vals)
	}

	// Apple identity certificates: 25 live (19 valid, 6 expired) and 1 revoked, for 22 enrollments;
	// 4 enrollments renewed (two certificates: the newer association is the one in use).
	type appleDev struct {
		enroll  int
		age     int
		revoked bool
	}
	devs := []appleDev{
		{0, 400, false}, {1, 420, false}, {2, 450, false}, {3, 380, false}, {4, 500, false}, {5, 371, false},
		{0, 30, false}, {1, 45, false}, {2, 60, false}, {6, 200, false}, {6, 5, false},
	}
	for i := 0; i < 14; i++ {
		devs = append(devs, appleDev{7 + i, 10 + i*23, false})
	}
	devs = append(devs, appleDev{21, 100, true})
	enrollIDs := make([]string, 22)
	for i := range enrollIDs {
		enrollIDs[i] = newUUID()
	}
	newestAge := map[int]int{}
	for _, d := range devs {
		if a, ok := newestAge[d.enroll]; !ok || d.age < a {
			newestAge[d.enroll] = d.age
		}
	}
	p("\n-- Apple identity certificates (CA serial 1; device serials from %s, starting at 2)\n", identitySerials)
	appleReq := func(i int) deviceRequest {
		s := pkix.Name{Organization: []string{"Fleet"}, CommonName: "Fleet Identity"}
		if i%3 != 1 {
			s.OrganizationalUnit = []string{"Fleet Device Enrollment"}
		}
		return deviceRequest{subject: s, pub: &devRSA.PublicKey}
	}
	perEnroll := map[int]int{}
	for i, d := range devs {
		serial := int64(2 + i)
		issue := ago(d.age, 1000+i*3701%80000).Truncate(time.Second)
		der, err := signDevice(apple.cert, apple.key, appleReq(i), serial, issue, appleDeviceDays)
		if err != nil {
			return err
		}
		c, _ := x509.ParseCertificate(der)
		pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		revoked := 0
		if d.revoked {
			revoked = 1
		}
		p("INSERT INTO %s (serial, created_at) VALUES (%d, %s);\n", identitySerials, serial, sqlTime(issue))
		p("INSERT INTO %s (serial, name, not_valid_before, not_valid_after, certificate_pem, revoked, created_at, "+
			"updated_at) VALUES (%d, 'Fleet Identity', %s, %s, %s, %d, %s, %s);\n", identityCerts, serial,
			sqlTime(c.NotBefore), sqlTime(c.NotAfter), sqlStr(pemText), revoked, sqlTime(issue), sqlTime(issue))
		p("INSERT INTO nano_cert_auth_associations (id, sha256, created_at, updated_at, cert_not_valid_after) "+
			"VALUES (%s, '%s', %s, %s, %s);\n", sqlStr(enrollIDs[d.enroll]), sha256Hex(der), sqlTime(issue),
			sqlTime(issue), sqlTime(c.NotAfter))
		perEnroll[d.enroll]++
		switch {
		case d.revoked:
			exp.AppleVerifier.Revoked++
		case now.After(c.NotAfter):
			exp.AppleVerifier.ExpiredOK++
		default:
			exp.AppleVerifier.Verified++
		}
	}
	exp.AppleCheckin.Enrolled = len(perEnroll)
	exp.AppleCheckin.OK = len(perEnroll)
	for _, n := range perEnroll {
		if n > 1 {
			exp.AppleCheckin.Renewed++
		}
	}

	// Host identity certificates: ECDSA device keys, public_key_raw = 0x04||X||Y, CN = host UUID.
	p("\n-- host identity certificates\n")
	type hiDev struct {
		host    int
		age     int
		revoked bool
		curve   elliptic.Curve
	}
	his := []hiDev{{501, 380, false, elliptic.P256()}, {502, 400, false, elliptic.P256()},
		{503, 200, true, elliptic.P256()}, {503, 17, false, elliptic.P256()}}
	for i := 0; i < 8; i++ {
		c := elliptic.P256()
		if i%4 == 3 {
			c = elliptic.P384()
		}
		his = append(his, hiDev{504 + i, 3 + i*37, false, c})
	}
	hostNames := map[int]string{}
	for i, d := range his {
		serial := int64(2 + i)
		issue := ago(d.age, 500+i*911).Truncate(time.Second)
		k, err := ecdsa.GenerateKey(d.curve, rand.Reader)
		if err != nil {
			return err
		}
		if hostNames[d.host] == "" {
			hostNames[d.host] = strings.ToLower(newUUID())
		}
		der, err := signDevice(hostID.cert, hostID.key, deviceRequest{subject: pkix.Name{CommonName: hostNames[d.host]},
			pub: &k.PublicKey}, serial, issue, hostIDDeviceDays)
		if err != nil {
			return err
		}
		c, _ := x509.ParseCertificate(der)
		raw := elliptic.Marshal(d.curve, k.PublicKey.X, k.PublicKey.Y)
		revoked := 0
		if d.revoked {
			revoked = 1
		}
		p("INSERT INTO host_identity_scep_serials (serial, created_at) VALUES (%d, %s);\n", serial, sqlTime(issue))
		p("INSERT INTO host_identity_scep_certificates (serial, host_id, name, not_valid_before, not_valid_after, "+
			"certificate_pem, public_key_raw, revoked, created_at, updated_at) VALUES (%d, %d, %s, %s, %s, %s, X'%X', "+
			"%d, %s, %s);\n", serial, d.host, sqlStr(hostNames[d.host]), sqlTime(c.NotBefore), sqlTime(c.NotAfter),
			sqlStr(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))), raw, revoked,
			sqlTime(issue), sqlTime(issue))
		exp.HostIdentity[certState(d.revoked, now, c)]++
	}

	// Conditional access certificates: RSA device keys, 398 days, URI SAN with the device UUID.
	p("\n-- conditional access certificates\n")
	cas := []struct {
		age     int
		revoked bool
	}{{420, false}, {50, true}, {7, false}, {40, false}, {90, false}, {150, false}, {250, false}, {390, false}}
	for i, d := range cas {
		serial := int64(2 + i)
		issue := ago(d.age, 300+i*613).Truncate(time.Second)
		u, _ := url.Parse("urn:device:apple:uuid:" + newUUID())
		der, err := signDevice(condAcc.cert, condAcc.key, deviceRequest{
			subject: pkix.Name{CommonName: "Fleet conditional access for Okta"}, uris: []*url.URL{u},
			pub: &devRSA.PublicKey}, serial, issue, condAccDeviceDays)
		if err != nil {
			return err
		}
		c, _ := x509.ParseCertificate(der)
		revoked := 0
		if d.revoked {
			revoked = 1
		}
		p("INSERT INTO conditional_access_scep_serials (serial, created_at) VALUES (%d, %s);\n", serial, sqlTime(issue))
		p("INSERT INTO conditional_access_scep_certificates (serial, host_id, name, not_valid_before, not_valid_after, "+
			"certificate_pem, revoked, created_at, updated_at) VALUES (%d, %d, 'Fleet conditional access for Okta', "+
			"%s, %s, %s, %d, %s, %s);\n", serial, 2001+i, sqlTime(c.NotBefore), sqlTime(c.NotAfter),
			sqlStr(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))), revoked, sqlTime(issue),
			sqlTime(issue))
		exp.ConditionalAccess[certState(d.revoked, now, c)]++
	}

	// FileVault escrows of 9 Macs (CMS EnvelopedData to ca_cert, AES-256-CBC, RSA key transport,
	// recipient by issuer + serial; base64 as Fleet stores it) and one Linux host's LUKS value.
	p("\n-- hosts and disk encryption keys\n")
	pkcs7.ContentEncryptionAlgorithm = pkcs7.EncryptionAlgorithmAES256CBC
	for i := 0; i < 9; i++ {
		id := 3001 + i
		rk := make([]byte, 12)
		if _, err := rand.Read(rk); err != nil {
			return err
		}
		recovery := strings.ToUpper(fmt.Sprintf("%X-%X-%X-%X-%X-%X", rk[0:2], rk[2:4], rk[4:6], rk[6:8], rk[8:10], rk[10:12]))
		env, err := pkcs7.Encrypt([]byte(recovery), []*x509.Certificate{apple.cert})
		if err != nil {
			return err
		}
		p("INSERT INTO hosts (id, osquery_host_id, uuid, hardware_serial, hostname, platform) VALUES (%d, %s, %s, "+
			"%s, 'mac-%d', 'darwin');\n", id, sqlStr(strings.ToLower(newUUID())), sqlStr(enrollIDs[i]),
			sqlStr(fmt.Sprintf("C02G%06d", id)), id)
		p("INSERT INTO host_disk_encryption_keys (host_id, base64_encrypted, base64_encrypted_salt, key_slot, "+
			"decryptable) VALUES (%d, '%s', '', NULL, NULL);\n", id, base64.StdEncoding.EncodeToString(env))
		exp.FileVault.Decrypted++
	}
	luks := make([]byte, 60)
	if _, err := rand.Read(luks); err != nil {
		return err
	}
	p("INSERT INTO hosts (id, osquery_host_id, uuid, hardware_serial, hostname, platform) VALUES (3010, %s, %s, "+
		"'LNX003010', 'linux-3010', 'ubuntu');\n", sqlStr(strings.ToLower(newUUID())), sqlStr(newUUID()))
	p("INSERT INTO host_disk_encryption_keys (host_id, base64_encrypted, base64_encrypted_salt, key_slot, "+
		"decryptable) VALUES (3010, '%s', '', 0, 1);\n", base64.StdEncoding.EncodeToString(luks))
	exp.FileVault.Ignored = 1

	ej, err := json.Marshal(exp)
	if err != nil {
		return err
	}
	schemaName := "schema.sql (identity_*, renew_at)"
	if !newSchema {
		schemaName = "schema-pre2026.sql (scep_*, no renew_at)"
	}
	fmt.Fprintf(w, "-- fleet-behaviour gen: a Fleet database made with crypto/x509 the way Fleet makes its rows.\n"+
		"-- Reference now: %s. Load after %s.\n-- expect: %s\n", now.Format(time.RFC3339), schemaName, ej)
	_, err = io.WriteString(w, out.String())
	return err
}

func certState(revoked bool, now time.Time, c *x509.Certificate) string {
	switch {
	case revoked:
		return "revoked"
	case now.After(c.NotAfter):
		return "expired"
	}
	return "valid"
}
