package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// scraper scrapes one exporter over a single keep-alive connection, asking for gzip as Prometheus does.
type scraper struct {
	client *http.Client
	url    string
}

func newScraper(url string) *scraper {
	return &scraper{
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true, IdleConnTimeout: time.Minute},
		},
		url: url,
	}
}

// scrape fetches the body once and returns the status and how long it took, body read included.
func (s *scraper) scrape(ctx context.Context) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), err
}

func (s *scraper) close() { s.client.CloseIdleConnections() }

// latencies summarises scrape durations.
type latencies []time.Duration

func (l latencies) quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// alternate scrapes every scraper in turn, n rounds or until maxTime, and returns each one's latencies.
func alternate(ctx context.Context, scrapers []*scraper, n int, maxTime time.Duration) ([]latencies, error) {
	out := make([]latencies, len(scrapers))
	deadline := time.Now().Add(maxTime)
	for round := 0; round < n && time.Now().Before(deadline); round++ {
		for i, s := range scrapers {
			code, d, err := s.scrape(ctx)
			if err != nil {
				return nil, fmt.Errorf("scraping %s: %w", s.url, err)
			}
			if code != http.StatusOK {
				return nil, fmt.Errorf("scraping %s: status %d", s.url, code)
			}
			out[i] = append(out[i], d)
		}
	}
	return out, nil
}

// burstResult is the outcome of parallel scraping.
type burstResult struct {
	ok, unavailable, otherStatus, errors int
	lat                                  latencies // of the 200 answers
	firstErr                             error
}

// burst runs workers parallel scrapers, each on its own keep-alive connection, for d or until maxTotal scrapes.
func burst(ctx context.Context, url string, workers int, d time.Duration, maxTotal int) burstResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu  sync.Mutex
		res burstResult
		wg  sync.WaitGroup
	)
	perWorker := maxTotal / workers
	for range workers {
		wg.Go(func() {
			s := newScraper(url)
			defer s.close()
			var local burstResult
			for i := 0; i < perWorker && ctx.Err() == nil; i++ {
				code, lat, err := s.scrape(ctx)
				switch {
				case err != nil && ctx.Err() != nil:
					// the deadline cut this scrape short; not the exporter's failure
				case err != nil:
					local.errors++
					if local.firstErr == nil {
						local.firstErr = err
					}
				case code == http.StatusOK:
					local.ok++
					local.lat = append(local.lat, lat)
				case code == http.StatusServiceUnavailable:
					local.unavailable++
				default:
					local.otherStatus++
				}
			}
			mu.Lock()
			res.ok += local.ok
			res.unavailable += local.unavailable
			res.otherStatus += local.otherStatus
			res.errors += local.errors
			res.lat = append(res.lat, local.lat...)
			if res.firstErr == nil {
				res.firstErr = local.firstErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return res
}
