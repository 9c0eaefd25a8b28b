package report

import "io"

// writeCacheText prints the cache section.
func writeCacheText(w io.Writer, s Styles, c *Cache) error { return nil }
