package flagvalue

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kingpin/v2"
)

func TestErrorsNameTheFlag(t *testing.T) {
	app := kingpin.New("test", "")
	app.Terminate(nil)
	var d time.Duration
	var got string
	app.Flag("interval", "").Default("1s").SetValue(Of("interval", &d, time.ParseDuration))
	app.Flag("mode", "").Default("a").SetValue(Func("mode", func(s string) error {
		if s != "a" && s != "b" {
			return errors.New("want a or b")
		}
		got = s
		return nil
	}))
	if _, err := app.Parse([]string{"--interval=2m", "--mode=b"}); err != nil || d != 2*time.Minute || got != "b" {
		t.Fatalf("parse: %v, %s, %q", err, d, got)
	}
	for args, want := range map[string]string{
		"--interval=abc": `--interval=abc: time: invalid duration "abc"`,
		"--mode=c":       "--mode=c: want a or b",
	} {
		if _, err := app.Parse([]string{args}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", args, err, want)
		}
	}
	var f float64
	v := Of("x", &f, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
	if err := v.Set("0.5"); err != nil || f != 0.5 || v.String() != "0.5" {
		t.Errorf("Set: %v, %v, %q", err, f, v.String())
	}
}
