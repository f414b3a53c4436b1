// Prints, for each Go file named on a line of stdin, the byte offset where go/parser's
// ImportsOnly mode stops (the end of the last import declaration, or of the package clause),
// or -1 when that parse fails: what tests/test_file_header.py compares listing_part with.
package main

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"os"
)

func main() {
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		path := lines.Text()
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			fmt.Printf("%s\t-1\n", path)
			continue
		}
		end := f.Name.End()
		for _, d := range f.Decls {
			end = max(end, d.End())
		}
		fmt.Printf("%s\t%d\n", path, fset.Position(end).Offset)
	}
}
