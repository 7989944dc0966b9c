package ingest

import (
	"fmt"
	"strings"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest/source"
)

// sectionNames is what a source says of its article's section: a text
// page's breadcrumb (or a label above its headline), a "section" field.
type sectionNames struct {
	file  string
	crumb []string // breadcrumb parts after "Home"
	named string   // a "section" field, as written
	line  int      // of the breadcrumb or the field
	label string   // a line above a text page's headline
	// labelLine is the line of label.
	labelLine int
}

// resolveSection sets a.Section from what the source names, through the
// configured sections (any name, as its slug, when none is configured),
// else from dflt. An article whose section is not configured is refused,
// naming the section and the key to add: stored, it would be in no feed.
//
// It returns where the section came from, for the dry run's report.
func (im *Importer) resolveSection(a *article.Article, n sectionNames, dflt string) (from string, err error) {
	used, err := im.resolve(a, n, dflt)
	switch used {
	case "crumb":
		from = fmt.Sprintf("breadcrumb %q (line %d)", strings.Join(n.crumb, " / "), n.line)
	case "named":
		from = fmt.Sprintf("section field %q (line %d)", n.named, n.line)
	case "label":
		from = fmt.Sprintf("line %q above the headline (line %d)", n.label, n.labelLine)
	case "default":
		from = fmt.Sprintf("default section %q (--section, content_section)", dflt)
	}
	return from, err
}

// resolve does resolveSection's work; used says which name it used:
// crumb, named, label or default.
func (im *Importer) resolve(a *article.Article, n sectionNames, dflt string) (used string, err error) {
	rules := im.opts.Sections
	switch {
	case len(n.crumb) > 0:
		used = "crumb"
		path := strings.Join(n.crumb, " / ")
		if len(rules) == 0 {
			if a.Section = source.Slugify(n.crumb[len(n.crumb)-1]); a.Section == "" {
				return used, source.Errorf(n.file, n.line, "section", "breadcrumb %q gives no usable section slug; configure [[sections]] with aliases = [%q]", path, path)
			}
			return used, nil
		}
		slug, ok := article.ResolveBreadcrumb(rules, n.crumb)
		if !ok {
			return used, source.Errorf(n.file, n.line, "section", "breadcrumb %q names no configured section (%s): %s", path, configured(rules), addKey(path, n.crumb[len(n.crumb)-1]))
		}
		a.Section = slug
		return used, nil
	case strings.TrimSpace(n.named) != "":
		used = "named"
		if len(rules) == 0 {
			if a.Section == "" {
				return used, source.Errorf(n.file, n.line, "section", "%q gives no usable section slug", n.named)
			}
			return used, nil
		}
		slug, ok := article.ResolveBreadcrumb(rules, strings.Split(article.SectionKey(n.named), " / "))
		if !ok {
			return used, source.Errorf(n.file, n.line, "section", "%q is not a configured section (%s): %s", n.named, configured(rules), addKey(n.named, n.named))
		}
		a.Section = slug
		return used, nil
	}
	if n.label != "" {
		if slug, ok := article.ResolveSection(rules, n.label); ok && len(rules) > 0 {
			a.Section = slug
			return "label", nil
		}
	}
	if dflt != "" {
		used = "default"
		if len(rules) == 0 {
			a.Section = source.Slugify(dflt)
			return used, nil
		}
		slug, ok := article.ResolveSection(rules, dflt)
		if !ok {
			return used, source.Errorf(n.file, 0, "section", "the default section %q is not a configured section (%s)", dflt, configured(rules))
		}
		a.Section = slug
		return used, nil
	}
	a.Section = ""
	return used, source.Errorf(n.file, 0, "section", "missing: the file names no section (no breadcrumb 'Home / … / Section', no \"section\" field); "+
		"give one, or import with --section SLUG (content_section for the content directory)")
}

func configured(rules []article.SectionRule) string {
	slugs := make([]string, len(rules))
	for i, r := range rules {
		slugs[i] = r.Slug
	}
	return "configured: " + strings.Join(slugs, ", ")
}

// addKey says what to add to the configuration for name to be accepted.
func addKey(name, last string) string {
	slug := source.Slugify(last)
	if slug == "" {
		return fmt.Sprintf("add %q to the aliases of a [[sections]] entry", name)
	}
	return fmt.Sprintf("add %q to the aliases of a [[sections]] entry, or a [[sections]] entry with slug = %q", name, slug)
}
