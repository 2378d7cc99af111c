package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/veripost/veripost/internal/auth"
)

// execer is a transaction or the pool.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func appendAudit(ctx context.Context, ex execer, ev auth.Event) error {
	details := "{}"
	if len(ev.Details) > 0 {
		b, err := json.Marshal(ev.Details)
		if err != nil {
			return err
		}
		details = string(b)
	}
	if ev.At.IsZero() {
		ev.At = auth.Now()
	}
	if ev.Outcome == "" {
		ev.Outcome = auth.OutcomeSuccess
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO audit_log
		(at, actor_type, actor_id, actor_name, token_id, address, action, outcome, target_type, target_id, package_id, summary, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		ev.At, string(ev.ActorType), ev.ActorID, ev.ActorName, ev.TokenID, ev.Address, ev.Action, ev.Outcome,
		ev.TargetType, ev.TargetID, ev.PackageID, ev.Summary, details)
	return err
}

// AppendAudit implements auth.Store.
func (db *DB) AppendAudit(ctx context.Context, ev auth.Event) error {
	return appendAudit(ctx, db.SQL, ev)
}

// ListAudit implements auth.Store: newest first, filtered, paged by id.
func (db *DB) ListAudit(ctx context.Context, q auth.AuditQuery) (auth.AuditPage, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.User != "" {
		where = append(where, "actor_name = "+arg(q.User))
	}
	if q.Action != "" {
		if strings.HasSuffix(q.Action, ".") {
			where = append(where, "action LIKE "+arg(strings.NewReplacer("%", "", "_", "\\_").Replace(q.Action)+"%")+" ESCAPE '\\'")
		} else {
			where = append(where, "action = "+arg(q.Action))
		}
	}
	if q.PackageID != "" {
		where = append(where, "package_id = "+arg(q.PackageID))
	}
	if q.TargetID != "" {
		where = append(where, "target_id = "+arg(q.TargetID))
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= "+arg(q.Since.UTC()))
	}
	if !q.Until.IsZero() {
		where = append(where, "at < "+arg(q.Until.UTC()))
	}
	if q.Before > 0 {
		where = append(where, "id < "+arg(q.Before))
	}
	sqlText := `SELECT id, at, actor_type, actor_id, actor_name, token_id, address, action, outcome, target_type, target_id, package_id, summary, details
		FROM audit_log`
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	sqlText += " ORDER BY id DESC LIMIT " + arg(q.Limit+1)
	rows, err := db.SQL.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return auth.AuditPage{}, err
	}
	defer rows.Close()
	page := auth.AuditPage{Items: []auth.Event{}}
	for rows.Next() {
		var ev auth.Event
		var actorType, details string
		if err := rows.Scan(&ev.ID, &ev.At, &actorType, &ev.ActorID, &ev.ActorName, &ev.TokenID, &ev.Address, &ev.Action, &ev.Outcome,
			&ev.TargetType, &ev.TargetID, &ev.PackageID, &ev.Summary, &details); err != nil {
			return auth.AuditPage{}, err
		}
		ev.ActorType = auth.ActorKind(actorType)
		ev.At = ev.At.UTC()
		if details != "" && details != "{}" {
			_ = json.Unmarshal([]byte(details), &ev.Details)
		}
		page.Items = append(page.Items, ev)
	}
	if err := rows.Err(); err != nil {
		return auth.AuditPage{}, err
	}
	if len(page.Items) > q.Limit {
		page.Items = page.Items[:q.Limit]
		page.NextBefore = page.Items[len(page.Items)-1].ID
	}
	return page, nil
}
