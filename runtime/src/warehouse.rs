//! The ClickHouse adapter: connection (set up to work with 18.16 as well as 24+), health
//! check, and batched idempotent writes of [`TableRow`]s.

use crate::config::ClickHouseConfig;
use crate::rows::FeedbackRow;
use crate::rows::{AlertRow, ForecastRow, NotificationRow, RiskWindowRow, WindowTemplateRow};
use crate::rows::{DecisionRow, IncidentRow};
use crate::stage::TableRow;
use anyhow::Context as _;
use clickhouse::{Client, Compression};

/// A handle on CloudSage's database. Cheap to clone.
#[derive(Clone)]
pub struct Warehouse {
    server: Client,
    db: Client,
    database: String,
}

impl Warehouse {
    /// `None` when no ClickHouse URL is configured.
    pub fn from_config(cfg: &ClickHouseConfig) -> Option<Warehouse> {
        let url = cfg.url.as_ref()?;
        // 18.16 cannot describe inserts (no RowBinaryWithNamesAndTypes) and mishandles the
        // crate's compressed requests; modern servers work the same way without them.
        let mut server = Client::default()
            .with_url(url)
            .with_validation(false)
            .with_compression(Compression::None);
        if let Some(u) = &cfg.user {
            server = server.with_user(u);
        }
        if let Some(p) = &cfg.password {
            server = server.with_password(p);
        }
        let db = server.clone().with_database(&cfg.database);
        Some(Warehouse {
            server,
            db,
            database: cfg.database.clone(),
        })
    }

    /// Client bound to CloudSage's database, for queries.
    pub fn client(&self) -> &Client {
        &self.db
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    pub async fn migrate(&self) -> anyhow::Result<Vec<u32>> {
        crate::migrations::migrate(&self.server, &self.database).await
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        let one: u8 = self.server.query("SELECT toUInt8(1)").fetch_one().await?;
        anyhow::ensure!(one == 1, "unexpected answer to SELECT 1");
        Ok(())
    }

    /// Writes rows grouped by table. `version` orders replays of the same key.
    pub async fn write(&self, rows: &[TableRow], version: u64) -> anyhow::Result<usize> {
        let mut windows = vec![];
        let mut forecasts = vec![];
        let mut alerts = vec![];
        let mut notifications = vec![];
        let mut templates = vec![];
        let mut feedback = vec![];
        let mut incidents = vec![];
        let mut decisions = vec![];
        for r in rows {
            match r {
                TableRow::RiskWindow(w) => windows.push(RiskWindowRow::new(w, version)),
                TableRow::Forecast(f) => forecasts.push(ForecastRow::new(f, version)),
                TableRow::Alert(a) => alerts.push(AlertRow::new(a, version)),
                TableRow::Notification(n) => notifications.push(NotificationRow::new(n, version)),
                TableRow::WindowTemplate(t) => templates.push(WindowTemplateRow::new(t, version)),
                TableRow::Feedback(f) => feedback.push(FeedbackRow::new(f, version)),
                TableRow::Incident(i) => incidents.push(IncidentRow::new(i, version)),
                TableRow::Decision(d) => decisions.push(DecisionRow::new(d)),
            }
        }
        self.insert("risk_windows", &windows).await?;
        self.insert("forecasts", &forecasts).await?;
        self.insert("alerts", &alerts).await?;
        self.insert("notifications", &notifications).await?;
        self.insert("window_templates", &templates).await?;
        self.insert("feedback", &feedback).await?;
        self.insert("incidents", &incidents).await?;
        self.insert("decisions", &decisions).await?;
        Ok(rows.len())
    }

    async fn insert<T>(&self, table: &str, rows: &[T]) -> anyhow::Result<()>
    where
        T: clickhouse::RowOwned + clickhouse::RowWrite,
    {
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = self.db.insert::<T>(table).await?;
        for r in rows {
            insert
                .write(r)
                .await
                .with_context(|| format!("writing to {table}"))?;
        }
        insert
            .end()
            .await
            .with_context(|| format!("inserting into {table}"))?;
        Ok(())
    }
}
