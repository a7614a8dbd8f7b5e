package web

import (
	"embed"
	"io/fs"

	"github.com/switchboardhq/switchboard/internal/i18n"
)

// The interface's translations: i18n/LANG/AREA.json, one file per area
// (core.json for the workspace, people.json for profiles and people,
// whatsapp.json for WhatsApp…), keyed by the English text.
//
//go:embed i18n
var locales embed.FS

// Catalog loads the embedded translations.
func Catalog() (*i18n.Catalog, error) {
	sub, err := fs.Sub(locales, "i18n")
	if err != nil {
		return nil, err
	}
	return i18n.Load(sub)
}
