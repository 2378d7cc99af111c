package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/veripost/veripost/internal/llm"
)

// usageShown is how many of the latest copilot calls the admins' page lists.
const usageShown = 100

type copilotUsageData struct {
	R llm.UsageReport
}

// Tokens is the month's tokens, in and out.
func (d copilotUsageData) Tokens() int64 { return d.R.Month.InputTokens + d.R.Month.OutputTokens }

// UsedPercent is the share of the budget used, 0-100 (0 without a cap).
func (d copilotUsageData) UsedPercent() int {
	if d.R.Budget <= 0 {
		return 0
	}
	return int(min(100, d.Tokens()*100/d.R.Budget))
}

// Cost formats a cost in US dollars ("—" when no prices are configured).
func (d copilotUsageData) Cost(usd float64) string {
	if usd == 0 {
		return "—"
	}
	if usd < 0.01 {
		return fmt.Sprintf("$%.4f", usd)
	}
	return fmt.Sprintf("$%.2f", usd)
}

// Seconds formats a duration briefly.
func (d copilotUsageData) Seconds(t time.Duration) string {
	if t <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f s", t.Seconds())
}

// copilotUsage shows administrators what the copilot costs: the month
// against the budget, and the latest calls with who asked about what.
func (u *UI) copilotUsage(w http.ResponseWriter, r *http.Request) {
	if u.Usage == nil {
		u.notFound(w, r, "This server keeps no copilot usage records.", "")
		return
	}
	rep, err := u.Copilot.Report(r.Context(), u.Usage, usageShown)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "copilot", u.newPage(r, "Copilot usage", "copilot", copilotUsageData{R: rep}))
}
