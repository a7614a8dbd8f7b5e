package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"
)

// listViews are the inbox's default views.
var listViews = []struct{ name, query string }{
	{"mine", "?assignee=me&status=open"},
	{"unassigned", "?assignee=none&status=open"},
	{"all-open", "?status=open"},
	{"all", ""},
}

func list(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sbbench list", flag.ContinueOnError)
	u, pid := addTargetFlags(fs)
	credsPath := fs.String("creds", "bench-creds.json", "credentials file written by seed")
	n := fs.Int("n", 200, "measured requests per view and role (one at a time)")
	warm := fs.Int("warmup", 20, "unmeasured requests first")
	roles := fs.String("roles", "admin,inbox_manager,service,sales", "roles to measure")
	if err := fs.Parse(args); err != nil {
		return err
	}
	creds, err := readCreds(*credsPath)
	if err != nil {
		return err
	}
	t := newTarget(*u, *pid, 4)
	fmt.Printf("list: %d conversations (%s), %d requests per cell, 25 rows per page\n", creds.Conversations, creds.Engine, *n)
	fmt.Printf("%-14s %-11s %6s %9s %9s %9s %12s\n", "role", "view", "rows", "p50", "p90", "p99", "server p50")
	const route = `route="GET /api/v1/conversations"`
	for _, role := range strings.Split(*roles, ",") {
		usr, err := creds.firstOf(role)
		if err != nil {
			return err
		}
		for _, v := range listViews {
			path := "/api/v1/conversations" + v.query
			var page struct {
				Items []struct {
					ID int64 `json:"id"`
				} `json:"items"`
			}
			for range *warm {
				if _, err := t.do(ctx, "GET", path, usr.Token, nil, &page); err != nil {
					return err
				}
			}
			m0, err := t.scrape(ctx)
			if err != nil {
				return err
			}
			lat := make(durations, 0, *n)
			for range *n {
				start := time.Now()
				if _, err := t.do(ctx, "GET", path, usr.Token, nil, &page); err != nil {
					return err
				}
				lat = append(lat, time.Since(start))
			}
			m1, err := t.scrape(ctx)
			if err != nil {
				return err
			}
			server := histQuantile(m0, m1, "switchboard_http_request_duration_seconds", 0.5, route, `code="2xx"`)
			fmt.Printf("%-14s %-11s %6d %9s %9s %9s %12s\n", role, v.name, len(page.Items), ms(lat.pct(50)), ms(lat.pct(90)), ms(lat.pct(99)),
				ms(time.Duration(server*1e9)))
		}
	}
	return nil
}
