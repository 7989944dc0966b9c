package postgres

import "github.com/syndicated/syndicated/storage/sqlstore"

// Dialect exposes the dialect to the external tests.
func Dialect() *sqlstore.Dialect { return dialect }
