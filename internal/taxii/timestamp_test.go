package taxii_test

import (
	"testing"
	"time"

	"github.com/omen-tip/omen/internal/taxii"
)

func TestFormatTimestamp(t *testing.T) {
	ts := time.Date(2016, 11, 2, 13, 34, 34, 123456789, time.FixedZone("CET", 3600))
	if got := taxii.FormatTimestamp(ts); got != "2016-11-02T12:34:34.123456Z" {
		t.Errorf("FormatTimestamp = %s", got)
	}
}
