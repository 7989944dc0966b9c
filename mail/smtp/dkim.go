package smtp

import (
	"fmt"
	"os"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// DKIM says how to sign outgoing mail (RFC 6376) with go-mail's own
// signer: relaxed/relaxed canonicalization, rsa-sha256 or ed25519-sha256
// by the key's type.
type DKIM struct {
	Domain   string // d=, e.g. example.com
	Selector string // s=: the key is published at SELECTOR._domainkey.DOMAIN
	// KeyFile is a PEM private key (PKCS#1 RSA or PKCS#8 RSA/Ed25519).
	KeyFile string
}

func (d *DKIM) signer() (*gomail.DKIMSigner, error) {
	if strings.TrimSpace(d.Domain) == "" || strings.TrimSpace(d.Selector) == "" {
		return nil, fmt.Errorf("smtp.dkim_domain and smtp.dkim_selector are both needed to sign with DKIM")
	}
	pemBytes, err := os.ReadFile(d.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("smtp.dkim_key_file: %w", err)
	}
	key, err := gomail.PrivKeyFromPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("smtp.dkim_key_file %s: %w", d.KeyFile, err)
	}
	signer := gomail.NewDKIMSigner(d.Domain, d.Selector, key)
	// The first Sign records the key's algorithm in the signer; do it
	// here, before concurrent sends share it.
	if _, err := signer.Sign([]byte("From: a@example.com\r\n"), []byte("\r\n")); err != nil {
		return nil, fmt.Errorf("smtp.dkim_key_file %s: %w", d.KeyFile, err)
	}
	return signer, nil
}
