// Package templates embeds the HTML pages syndicated serves. Each page is a
// file in html/ that defines a "content" block and is parsed together with
// html/layout.html.
package templates

import "embed"

// FS holds html/*.html.
//
//go:embed html
var FS embed.FS
