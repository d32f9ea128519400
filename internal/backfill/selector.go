package backfill

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/prometheus/common/config"
)

// DefaultSelector is the selector of a host's series when none is given: its instance label is the hostname, with
// or without a port (node_exporter's web1:9100, the exporter's web1:9843, or web1 where relabelled to it).
func DefaultSelector(hostname string) string {
	return "instance=~" + strconv.Quote(regexp.QuoteMeta(hostname)+"(:[0-9]+)?")
}

// CheckSelector checks that s is a list of PromQL label matchers, name op "value" separated by commas, as they
// go between the braces of a selector, with at least one matcher and regexps that compile. It catches a mistyped
// flag at start instead of at the first query; Prometheus still has the last word (400 Bad Request).
func CheckSelector(s string) error {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return errors.New("empty: at least one label matcher, e.g. instance=\"web1:9100\", is needed to pick one host's series")
	}
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) })
		if i <= 0 {
			return fmt.Errorf("expected a label name at %q", rest)
		}
		name := rest[:i]
		if unicode.IsDigit(rune(name[0])) {
			return fmt.Errorf("label name %q starts with a digit", name)
		}
		rest = strings.TrimLeft(rest[i:], " \t")
		var op string
		for _, o := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(rest, o) {
				op = o
				break
			}
		}
		if op == "" {
			return fmt.Errorf("expected =, !=, =~ or !~ after %s", name)
		}
		rest = strings.TrimLeft(rest[len(op):], " \t")
		quoted, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return fmt.Errorf("the value of %s is not a quoted string at %q", name, rest)
		}
		value, err := strconv.Unquote(quoted)
		if err != nil {
			return fmt.Errorf("the value of %s: %w", name, err)
		}
		if op == "=~" || op == "!~" {
			if _, err := regexp.Compile("^(?:" + value + ")$"); err != nil {
				return fmt.Errorf("the regexp of %s: %w", name, err)
			}
		}
		rest = strings.TrimLeft(rest[len(quoted):], " \t")
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return fmt.Errorf("expected a comma after the matcher of %s at %q", name, rest)
		}
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	return nil
}

// hostOf is the host part of an instance label: web1 of web1:9100, 10.0.0.1 of 10.0.0.1:9100, ::1 of [::1]:9100.
func hostOf(instance string) string {
	if h, _, err := net.SplitHostPort(instance); err == nil {
		return h
	}
	return instance
}

// SelectorOrDefault checks a selector flag's value; an empty one is DefaultSelector of this host's name when the
// backfill is on (needed), and stays empty otherwise.
func SelectorOrDefault(s string, needed bool) (string, error) {
	if s != "" {
		return s, CheckSelector(s)
	}
	if !needed {
		return "", nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("no hostname for the default selector: %w", err)
	}
	return DefaultSelector(host), nil
}

// CheckURL accepts an empty URL (no backfill) or an absolute http:// or https:// one.
func CheckURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http:// or https:// URL")
	}
	return nil
}

// LoadHTTPConfig reads an HTTP client configuration file in Prometheus' format (paths in it are relative to it);
// no file is the default configuration.
func LoadHTTPConfig(path string) (config.HTTPClientConfig, error) {
	if path == "" {
		return config.DefaultHTTPClientConfig, nil
	}
	c, _, err := config.LoadHTTPConfigFile(path)
	if err != nil {
		return config.HTTPClientConfig{}, err
	}
	return *c, nil
}
