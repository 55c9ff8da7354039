package main

import (
	"context"
	"crypto/md5"
	"database/sql"
	"fmt"
	"os"
	"time"

	"github.com/go-sql-driver/mysql"
)

// store is one connection inside one read-only transaction: every reader sees the same snapshot.
type store struct {
	db     *sql.DB
	tx     *sql.Tx
	ctx    context.Context
	tables map[string]bool
	schema schemaInfo
}

// schemaInfo is what Fleet's schema version decides (detected at run time: the 2026 table renames).
type schemaInfo struct {
	IdentityCerts   string `json:"identity_certificates"` // identity_certificates or scep_certificates
	IdentitySerials string `json:"identity_serials"`
	Activities      string `json:"activities"` // activity_past or activities
	Associations    bool   `json:"nano_cert_auth_associations"`
	Escrows         bool   `json:"host_disk_encryption_keys"`
	RenewAt         bool   `json:"renew_at"`
}

func openStore(ctx context.Context) (*store, error) {
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	if p := os.Getenv("FLEET_MYSQL_PROTOCOL"); p != "" {
		cfg.Net = p
	}
	cfg.Addr = envOr("FLEET_MYSQL_ADDRESS", "localhost:3306")
	if len(cfg.Addr) > 0 && cfg.Addr[0] == '/' {
		cfg.Net = "unix"
	}
	cfg.User = envOr("FLEET_MYSQL_USERNAME", "fleet")
	pw, _, err := secretFromEnv("FLEET_MYSQL_PASSWORD", "FLEET_MYSQL_PASSWORD_PATH")
	if err != nil {
		return nil, err
	}
	cfg.Passwd = string(pw)
	cfg.DBName = envOr("FLEET_MYSQL_DATABASE", "fleet")
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.Timeout = 10 * time.Second
	cfg.ReadTimeout = 120 * time.Second
	cfg.Params = map[string]string{"time_zone": "'+00:00'", "charset": "utf8mb4"}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot use database %q at %s as %q: %v", cfg.DBName, cfg.Addr, cfg.User, err)
	}
	s := &store{db: db, tx: tx, ctx: ctx, tables: map[string]bool{}}
	if err := s.detect(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *store) close() {
	if s.tx != nil {
		_ = s.tx.Rollback()
	}
	_ = s.db.Close()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func (s *store) query(q string, args ...interface{}) (*sql.Rows, error) {
	rows, err := s.tx.QueryContext(s.ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", firstWords(q), err)
	}
	return rows, nil
}

func firstWords(q string) string {
	if len(q) > 80 {
		return q[:80] + "..."
	}
	return q
}

func (s *store) detect() error {
	rows, err := s.query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
	if err != nil {
		return err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		s.tables[n] = true
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if !s.tables["mdm_config_assets"] {
		return fmt.Errorf("database has no table mdm_config_assets: not a Fleet database (or no SELECT grant)")
	}
	switch {
	case s.tables["identity_certificates"]:
		s.schema.IdentityCerts, s.schema.IdentitySerials = "identity_certificates", "identity_serials"
	case s.tables["scep_certificates"]:
		s.schema.IdentityCerts, s.schema.IdentitySerials = "scep_certificates", "scep_serials"
	default:
		return fmt.Errorf("database has neither identity_certificates nor scep_certificates")
	}
	switch {
	case s.tables["activity_past"]:
		s.schema.Activities = "activity_past"
	case s.tables["activities"]:
		s.schema.Activities = "activities"
	default:
		return fmt.Errorf("database has neither activity_past nor activities")
	}
	s.schema.Associations = s.tables["nano_cert_auth_associations"]
	s.schema.Escrows = s.tables["host_disk_encryption_keys"]
	if s.schema.Escrows && !s.tables["hosts"] {
		return fmt.Errorf("database has host_disk_encryption_keys but no hosts table")
	}
	var n int
	if err := s.tx.QueryRowContext(s.ctx, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "+
		"DATABASE() AND TABLE_NAME = 'mdm_config_assets' AND COLUMN_NAME = 'renew_at'").Scan(&n); err != nil {
		return fmt.Errorf("columns of mdm_config_assets: %v", err)
	}
	s.schema.RenewAt = n > 0
	return nil
}

// assetRow is one mdm_config_assets row; plain is set for the rows a reader needs.
type assetRow struct {
	id       int64
	name     string
	value    []byte
	live     bool
	md5OK    bool
	plain    []byte
	hasPlain bool
}

// assets holds the whole mdm_config_assets table (small: one row per name plus history).
type assets struct {
	rows []*assetRow
	live map[string]*assetRow
}

// loadAssets reads every row, checks each md5_checksum (Fleet's cache keys on it), and decrypts
// the rows a reader needs: every live row among wanted, and every row (live and soft-deleted)
// named in history. A value that does not decrypt is an error: wrong key, or not Fleet's layout.
func (s *store) loadAssets(key []byte, wanted, history []string) (*assets, error) {
	want := map[string]bool{}
	for _, n := range wanted {
		want[n] = true
	}
	hist := map[string]bool{}
	for _, n := range history {
		hist[n] = true
	}
	rows, err := s.query("SELECT id, name, value, deletion_uuid, md5_checksum FROM mdm_config_assets ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	a := &assets{live: map[string]*assetRow{}}
	for rows.Next() {
		r := &assetRow{}
		var del string
		var sum []byte
		if err := rows.Scan(&r.id, &r.name, &r.value, &del, &sum); err != nil {
			return nil, err
		}
		r.live = del == ""
		m := md5.Sum(r.value)
		r.md5OK = string(m[:]) == string(sum)
		if r.live {
			if _, dup := a.live[r.name]; dup {
				return nil, fmt.Errorf("two live mdm_config_assets rows named %s", r.name)
			}
			a.live[r.name] = r
		}
		if (r.live && want[r.name]) || hist[r.name] {
			p, err := decryptAsset(key, r.value)
			if err != nil {
				return nil, fmt.Errorf("mdm_config_assets row %d (%s) does not decrypt with the server "+
					"private key: %v", r.id, r.name, err)
			}
			r.plain, r.hasPlain = p, true
		}
		a.rows = append(a.rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

// plain returns the decrypted live value of name, or nil when there is no live row.
func (a *assets) plain(name string) []byte {
	if r, ok := a.live[name]; ok && r.hasPlain {
		return r.plain
	}
	return nil
}
