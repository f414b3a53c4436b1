// Package render formats log records through a sync.Pool of buffers — and shows the classic
// ways such a pool "doesn't work": the pooled objects, or what is written into them, escape.
package render

import (
	"fmt"
	"strconv"
	"sync"
)

// Record is one log line.
type Record struct {
	Level   string
	Message string
	Code    int
}

// bufPool stores []byte values: every Put boxes the slice header into an interface (SA6002).
var bufPool = sync.Pool{New: func() any { return make([]byte, 0, 256) }}

// lastLine keeps the most recent pooled buffer alive after it was returned to the pool.
var lastLine []byte

// NewRecord returns a pointer to a local: the record is moved to the heap on every call.
func NewRecord(level, msg string, code int) *Record {
	r := Record{Level: level, Message: msg, Code: code}
	return &r
}

// Format renders r using a pooled buffer.
func Format(r *Record) string {
	buf := bufPool.Get().([]byte)[:0]
	buf = append(buf, r.Level...)
	buf = append(buf, ' ')
	buf = append(buf, r.Message...)
	buf = append(buf, " code="...)
	buf = strconv.AppendInt(buf, int64(r.Code), 10)
	lastLine = buf // the pooled buffer escapes into a global
	s := string(buf)
	bufPool.Put(buf)
	return s
}

// Debugf boxes its arguments: each one is converted to an interface and escapes.
func Debugf(code int, msg string) string {
	return fmt.Sprintf("%d %s", code, msg)
}

// Scratch makes a buffer whose size is only known at run time.
func Scratch(n int) []byte {
	return make([]byte, n)
}

// Counter returns a closure that captures its state by reference.
func Counter() func() int {
	count := 0
	return func() int {
		count++
		return count
	}
}
