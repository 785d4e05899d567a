package intel

import "errors"

// errTODO marks the functions below until their implementation lands; see observable_test.go.
var errTODO = errors.New("intel: normalisation not built yet")

// Refang undoes the common ways of defanging an indicator: hxxp/hXXp/fxp schemes, [.] (.) {.} [dot]
// (dot) " dot ", [@] [at] (at), [:] [://], and alike. It does not validate anything.
func Refang(s string) string { return s }

// Normalize returns raw as an observable of type t in canonical form, after refanging; the error says
// why raw is not a valid value of that type.
func Normalize(t Type, raw string) (Observable, error) { return Observable{}, errTODO }

// Detect refangs raw, works out its type and returns it in canonical form.
func Detect(raw string) (Observable, error) { return Observable{}, errTODO }

// Extract returns every observable found in free text, canonical, deduplicated, in order of first
// appearance.
func Extract(text string) []Observable { return nil }
