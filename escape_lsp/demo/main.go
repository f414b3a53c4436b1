// Command poolleak formats a few records; run `escape-lsp check --explain ./...` here.
package main

import (
	"fmt"

	"example.com/poolleak/render"
)

func main() {
	for i := 0; i < 3; i++ {
		fmt.Println(render.Format(render.NewRecord("INFO", "hello", i)))
	}
}
