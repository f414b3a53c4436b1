package render

import (
	"bytes"
	"strconv"
	"sync"
)

// Label formats a level and a code with a pool it makes on every call: each call starts with
// an empty pool, so every Get calls New.
func Label(level string, code int) string {
	pool := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	b := pool.Get().(*bytes.Buffer)
	b.Reset()
	b.WriteString(level)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(code))
	s := b.String()
	pool.Put(b)
	return s
}
