// Command omen is an open-source threat intelligence platform for Security Operations Centres.
package main

import (
	"os"

	"github.com/omen-tip/omen/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
