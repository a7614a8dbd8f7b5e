package contact_test

import (
	"bytes"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/contact"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// importCSV is a file of n contacts as a team would import them: names,
// national numbers of the default country (ES), addresses, two tags
// each, and an owner on one row in four (half of them addresses with no
// account yet). suffix changes every name, for an import that updates.
func importCSV(n int, suffix string) []byte {
	var b bytes.Buffer
	b.WriteString("name,phone,email,tags,owner\n")
	for i := range n {
		owner := ""
		switch i % 8 {
		case 1:
			owner = "sales@x.test"
		case 5:
			owner = fmt.Sprintf("new%d@example.com", i%100)
		}
		fmt.Fprintf(&b, "Customer %d%s,6%08d,customer%d@example.com,\"tag%d, batch\",%s\n", i, suffix, i, i, i%20, owner)
	}
	return b.Bytes()
}

// BenchmarkImport imports 100,000 contacts in one transaction (read,
// checked and written: ReadCSV, Apply) into a fresh database per run
// ("new"), and imports them again with every name changed ("update").
// Besides the time it reports the CPU time of the process per import
// (cpu-ms/import: the figure a shared machine disturbs least; on
// PostgreSQL the server's work is not in it).
// go test -run XXX -bench Import -benchtime 1x -count 5 ./internal/contact/
func BenchmarkImport(b *testing.B) {
	const n = 100_000
	file, changed := importCSV(n, ""), importCSV(n, " (new)")
	run := func(b *testing.B, d *db.DB, file []byte, want func(contact.ImportReport) bool) {
		b.Helper()
		ctx := context.Background()
		im, err := contact.ReadCSV(bytes.NewReader(file), contact.ImportOptions{Region: "ES"})
		if err != nil {
			b.Fatal(err)
		}
		err = d.Write(ctx, func(tx *db.Tx) error {
			_, err := im.Apply(ctx, tx)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		if r := im.Report(); !want(r) {
			b.Fatalf("report %+v", r)
		}
	}
	var cpu time.Duration
	cpuTime := func() time.Duration {
		var u syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &u)
		return time.Duration(u.Utime.Nano() + u.Stime.Nano())
	}
	measured := func(b *testing.B, d *db.DB, file []byte, want func(contact.ImportReport) bool) {
		start := cpuTime()
		run(b, d, file, want)
		cpu += cpuTime() - start
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/import")
		b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/import")
		cpu = 0
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		open := func(b *testing.B) *db.DB {
			if engine == "sqlite" {
				return dbtest.SQLite(b)
			}
			return dbtest.Postgres(b)
		}
		b.Run(engine+"/new", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				d := open(b)
				mkUsers(b, d)
				b.StartTimer()
				measured(b, d, file, func(r contact.ImportReport) bool { return r.Created == n })
			}
			report(b)
		})
		b.Run(engine+"/update", func(b *testing.B) {
			d := open(b)
			mkUsers(b, d)
			run(b, d, file, func(r contact.ImportReport) bool { return r.Created == n })
			cpu = 0
			i := 0
			for b.Loop() {
				f := changed
				if i%2 == 1 {
					f = file
				}
				i++
				measured(b, d, f, func(r contact.ImportReport) bool { return r.Updated == n })
			}
			report(b)
		})
	}
}
