package pattern_test

import (
	"fmt"

	"github.com/omen-tip/omen/internal/stix/pattern"
)

func ExampleParse() {
	p, err := pattern.Parse("[ file:hashes.SHA-256 == 'AB' ]  OR ([ipv4-addr:value = '198.51.100.1'])")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p)
	_, err = pattern.Parse("[ipv4-addr:value = '198.51.100.1'")
	fmt.Println(err)
	// Output:
	// [file:hashes.'SHA-256' = 'AB'] OR [ipv4-addr:value = '198.51.100.1']
	// pattern: offset 33: expected ']'
}

func ExamplePattern_Reduce() {
	p, err := pattern.Parse("[domain-name:value = 'domain autuo.xicp.net' OR domain-name:value = 'autuo.xicp.net'] OR [ipv4-addr:value = '112.64.0.0/15']")
	if err != nil {
		fmt.Println(err)
		return
	}
	r := p.Reduce()
	fmt.Println(r.Reducible, len(r.Invalid))
	for _, a := range r.Atoms {
		fmt.Println(a.Object, a.Path, a.Observable)
	}
	p, _ = pattern.Parse("[file:name = 'x.exe' AND file:hashes.md5 = 'D41D8CD98F00B204E9800998ECF8427E']")
	r = p.Reduce()
	fmt.Println(r.Reducible, r.Reason, r.Atoms[0].Observable)
	// Output:
	// true 1
	// domain-name value domain:autuo.xicp.net
	// ipv4-addr value cidr:112.64.0.0/15
	// false AND across properties md5:d41d8cd98f00b204e9800998ecf8427e
}
