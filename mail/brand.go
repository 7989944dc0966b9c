package mail

import "github.com/matcornic/hermes/v2"

// Brand is how emails rendered with hermes are branded (config: product
// name, link, logo, copyright). The digest and the confirmation email share
// it.
type Brand struct {
	Name      string // product name, e.g. "Syndicated"
	Link      string // product home page
	Logo      string // URL of a logo image (optional)
	Copyright string // footer line (optional)
}

// Hermes returns a hermes generator with the default theme and this brand.
func (b Brand) Hermes() hermes.Hermes {
	name := b.Name
	if name == "" {
		name = "Syndicated"
	}
	copyright := b.Copyright
	if copyright == "" {
		copyright = "© " + name
	}
	return hermes.Hermes{
		Theme: new(hermes.Default),
		Product: hermes.Product{
			Name:      name,
			Link:      b.Link,
			Logo:      b.Logo,
			Copyright: copyright,
		},
	}
}
