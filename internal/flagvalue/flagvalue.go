// Package flagvalue makes kingpin flag values whose parse errors name the flag: kingpin reports a value's error as
// it is, so "--sample.interval=abc" would otherwise print only `time: invalid duration "abc"`.
package flagvalue

import (
	"fmt"

	"github.com/alecthomas/kingpin/v2"
)

// Of returns the value of the flag called name: parse reads the flag's text into dst.
func Of[T any](name string, dst *T, parse func(string) (T, error)) kingpin.Value {
	return &value[T]{name: name, dst: dst, parse: parse}
}

// Func returns the value of the flag called name whose text set takes.
func Func(name string, set func(string) error) kingpin.Value {
	var text string
	return &value[string]{name: name, dst: &text, parse: func(s string) (string, error) { return s, set(s) }}
}

type value[T any] struct {
	name  string
	dst   *T
	parse func(string) (T, error)
	text  string
}

// Set parses s; an error names the flag and the text.
func (v *value[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return fmt.Errorf("--%s=%s: %w", v.name, s, err)
	}
	*v.dst, v.text = x, s
	return nil
}

// String returns the text last set.
func (v *value[T]) String() string { return v.text }
