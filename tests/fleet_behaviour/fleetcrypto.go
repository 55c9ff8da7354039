package main

// The cryptography Fleet applies to its rows, as Fleet's Go code does it (docs/architecture.md, section 7).

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"time"
)

// assetGCM is the AES-GCM of Fleet's asset encryption (the key is the first 32 bytes of the server key).
func assetGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// decryptAsset opens a mdm_config_assets value: nonce(12) || ciphertext || tag(16), no AAD.
func decryptAsset(key, value []byte) ([]byte, error) {
	gcm, err := assetGCM(key)
	if err != nil {
		return nil, err
	}
	if len(value) < gcm.NonceSize()+gcm.Overhead() {
		return nil, errors.New("value shorter than nonce and tag")
	}
	return gcm.Open(nil, value[:gcm.NonceSize()], value[gcm.NonceSize():], nil)
}

// encryptAsset seals a value the way Fleet's datastore does: a random nonce, prepended.
func encryptAsset(key, plain []byte) ([]byte, error) {
	gcm, err := assetGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, plain, nil), nil
}

// firstCert is what every Fleet reader takes from a cert row: the first PEM block, which must be
// a CERTIFICATE, parsed (assets.X509Cert).
func firstCert(pemBytes []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("first PEM block is %q, not CERTIFICATE", block.Type)
	}
	return x509.ParseCertificate(block.Bytes)
}

// subjectKeyID is Fleet's cryptoutil.GenerateSubjectKeyID as it behaves (not as its comment says): the
// first 20 bytes of SHA-256 over the subjectPublicKey bits (for RSA, the PKCS#1 RSAPublicKey DER).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}

// verifyAppleDevice is the Apple SCEP verifier of the newest Fleet (SCEPVerifier.Verify with
// WithIgnoreExpiry): root is the only trust anchor; EKU clientAuth, relaxed to any when the root
// carries other EKUs (Go checks EKUs along the whole chain); an expired certificate is verified
// at its own NotAfter, so the root must have been valid then.
func verifyAppleDevice(root, cert *x509.Certificate, now time.Time) error {
	opts := x509.VerifyOptions{
		Roots:       x509.NewCertPool(),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		CurrentTime: now,
	}
	opts.Roots.AddCert(root)
	for _, u := range root.ExtKeyUsage {
		if u != x509.ExtKeyUsageClientAuth {
			opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
			break
		}
	}
	if now.After(cert.NotAfter) {
		opts.CurrentTime = cert.NotAfter
	}
	_, err := cert.Verify(opts)
	return err
}

// deviceRequest is what a device's CSR asks for (its subject, SANs and public key).
type deviceRequest struct {
	subject pkix.Name
	uris    []*url.URL
	pub     crypto.PublicKey
}

// signDevice issues a device certificate the way Fleet's SCEP depot signer does:
// NotBefore = issue - 600 s, NotAfter = issue + days, keyUsage digitalSignature, EKU clientAuth,
// AKI = the CA's SKI, SKI of the device key, subject and SANs from the request.
func signDevice(ca *x509.Certificate, caKey crypto.Signer, req deviceRequest, serial int64, issue time.Time,
	days int) ([]byte, error) {
	ski, err := subjectKeyID(req.pub)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(serial),
		Subject:        req.subject,
		URIs:           req.uris,
		NotBefore:      issue.Add(-600 * time.Second),
		NotAfter:       issue.Add(time.Duration(days) * 24 * time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		SubjectKeyId:   ski,
		AuthorityKeyId: ca.SubjectKeyId,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca, req.pub, caKey)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return fmt.Sprintf("%x", s[:])
}

// emptyCountry is true when the subject carries a C attribute with an empty value (Fleet issue
// #38699: macOS shows "< parser error >").
func emptyCountry(n pkix.Name) bool {
	for _, c := range n.Country {
		if c == "" {
			return true
		}
	}
	return false
}
