// Command mkdemo creates the demo root used by make demo.
package main

import (
	"fmt"
	"os"

	"github.com/pactidy/pactidy/internal/demo"
)

func main() {
	dir := ".demo"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	r, err := demo.Create(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkdemo: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("ROOT=%s\nCONFIG=%s\n", r.Dir, r.Config)
}
