"""Go sources shared by several end-to-end tests."""

POINT = """
package main

type Point struct{ X, Y int }

//go:noinline
func newPoint(x, y int) *Point {
\tp := Point{X: x, Y: y}
\treturn &p
}

func main() {
\tpt := newPoint(1, 2)
\tprintln(pt.X + pt.Y)
}
"""
