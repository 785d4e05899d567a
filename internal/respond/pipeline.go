package respond

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/omen-tip/omen/internal/intel"
	"github.com/omen-tip/omen/internal/risk"
	"github.com/omen-tip/omen/internal/store"
)

// Collect selects the entries of one export: it scans every indicator of st and keeps those the
// format f can carry (and sel.Types names, when set), with reports under the TLP ceiling, from
// the selected sources, with a selected tag, seen since sel.Since, not removed by the guard g
// (nil: no guard), not expired and scoring at least sel.MinScore by model with the sources'
// reliabilities at now. Over sel.Max, it keeps the sel.Max best (by score, highest first, then
// by value); when f.Aggregate, it merges IP addresses and networks into the fewest CIDRs that
// cover exactly the same addresses (see [Aggregate]). The entries come in the order every format
// writes them: addresses and networks numerically, then the other types, each by value.
//
// The report counts the candidates, what each step removed (by reason) and the entries left; the
// guard's removals are also listed one by one, in scan order.
func Collect(ctx context.Context, st store.Store, g *Guard, model risk.Model, sel Selection, f Format,
	now time.Time) ([]Entry, Report, error) {
	rep := Report{Removed: map[string]int{}}
	grades, err := sourceGrades(ctx, st)
	if err != nil {
		return nil, rep, fmt.Errorf("export %s: %w", f.Name, err)
	}
	s := newSelector(sel, f, model, grades, now)
	// Entries are large: gather them in chunks and copy them once, rather than regrowing one
	// slice of a million.
	const chunk = 4096
	var chunks [][]Entry
	cur := make([]Entry, 0, chunk)
	err = st.ScanIndicators(ctx, func(in intel.Indicator) error {
		rep.Candidates++
		if rep.Candidates&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		vis, why, r := s.admit(in, g)
		if why != "" {
			rep.Removed[why]++
			if r.Reason != "" {
				rep.Removals = append(rep.Removals, r)
			}
			return nil
		}
		e, why := s.score(vis)
		if why != "" {
			rep.Removed[why]++
			return nil
		}
		if len(cur) == chunk {
			chunks = append(chunks, cur)
			cur = make([]Entry, 0, chunk)
		}
		cur = append(cur, e)
		return nil
	})
	if err != nil {
		return nil, rep, fmt.Errorf("export %s: scanning indicators: %w", f.Name, err)
	}
	out := cur
	if len(chunks) > 0 {
		out = make([]Entry, 0, len(chunks)*chunk+len(cur))
		for _, c := range append(chunks, cur) {
			out = append(out, c...)
		}
		chunks = nil
	}
	return finish(out, f, sel.Max, &rep), rep, nil
}

// finish keeps the best max entries (all for 0), aggregates them when the format does, puts them
// in the order the formats write, and counts them into rep.
func finish(out []Entry, f Format, max int, rep *Report) []Entry {
	if max > 0 && len(out) > max {
		rank(out)
		rep.Removed[ReasonCap] += len(out) - max
		clear(out[max:])
		out = out[:max]
	}
	if f.Aggregate {
		out = aggregate(out, true)
	} else {
		sortCanonical(out)
	}
	rep.Written = len(out)
	return out
}

// Write writes entries in format f to w; a format that is a directory (WriteDir) cannot.
func Write(f Format, w io.Writer, entries []Entry, o WriteOptions) error {
	if f.Write == nil {
		return fmt.Errorf("format %s writes a directory, not a stream: give a directory", f.Name)
	}
	if err := f.Write(w, entries, o); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name, err)
	}
	return nil
}

// WriteFile writes entries in format f to path atomically: into a temporary file beside it,
// renamed over path once complete, so that a consumer never reads half a list. A format that is
// a directory (WriteDir) writes into path, created when missing.
func WriteFile(f Format, path string, entries []Entry, o WriteOptions) error {
	if f.Write == nil {
		if f.WriteDir == nil {
			return fmt.Errorf("format %s has no writer", f.Name)
		}
		if err := os.MkdirAll(path, 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name, err)
		}
		if err := f.WriteDir(path, entries, o); err != nil {
			return fmt.Errorf("writing %s into %s: %w", f.Name, path, err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".omen-export-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", f.Name, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", f.Name, err)
	}
	if err := Write(f, tmp, entries, o); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name, err)
	}
	return nil
}
