//! What every command file uses: the context a command runs in (store location, actor, clock, output), the user
//! error type, and small helpers for writing output files. Kept apart from the dispatcher in `commands/mod.rs`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use duban_app::App;

/// What every command gets: where the store is, who is acting, what time it is, and where to write.
pub struct Ctx<'a> {
    pub store_path: PathBuf,
    pub actor: String,
    pub now: DateTime<Utc>,
    /// Whether `now` was given (`--now`, `DUBAN_NOW`) rather than read from the system clock.
    pub fixed_clock: bool,
    pub json: bool,
    pub out: &'a mut dyn Write,
    /// A store already opened by the caller (the demo runs many commands on one handle: sled allows one handle per
    /// store, and reopening right after a drop can race its background threads).
    pub shared: Option<App>,
    /// An office's own short forms of organ names (`--aliases FILE`, read and checked at start), added to the
    /// built-in table when an `--organ` filter needs it (see [`Ctx::organ`]).
    pub aliases: Vec<(String, String)>,
    /// How many columns tables may take (`--width`, else the terminal's; `None`: not a terminal, no limit).
    pub width: Option<usize>,
    /// With `--server`: the server commands are sent to (see `remote`).
    pub server: Option<crate::remote::Remote>,
}

impl Ctx<'_> {
    /// An organ as typed, ready to match names. The table is built only here, when a filter needs it, and the caller
    /// opens the store first: building it converts scripts through a large table, and the memory that conversion
    /// frees is then reused — and zeroed by hand — by sled's page table as it opens (3 ms a command).
    pub fn organ(&self, typed: &str) -> duban_domain::OrganQuery {
        duban_domain::OrganQuery::new(typed, &duban_domain::Aliases::with(&self.aliases))
    }

    /// Today in China.
    pub fn today(&self) -> NaiveDate {
        duban_domain::business_date(self.now)
    }

    /// The store, opened for this command (or the one the caller shares).
    pub fn app(&self) -> anyhow::Result<App> {
        match &self.shared {
            Some(app) => Ok(app.clone()),
            None => Ok(App::open(&self.store_path)?),
        }
    }

    /// The store, opened for a command that only reads (it writes nothing to a healthy store).
    pub fn reader(&self) -> anyhow::Result<App> {
        match &self.shared {
            Some(app) => Ok(app.clone()),
            None => Ok(App::open_reading(&self.store_path)?),
        }
    }

    /// Who acts, and when, for the use cases.
    pub fn context(&self) -> anyhow::Result<duban_app::Context> {
        Ok(duban_app::Context::new(self.actor.clone(), self.now)?)
    }

    /// Writes JSON text (a server's answer) as [`Ctx::print_json`] writes a value, its fields in their order.
    pub fn print_json_text(&mut self, text: &[u8]) -> anyhow::Result<()> {
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, &mut *self.out);
        let mut input = serde_json::Deserializer::from_slice(text);
        serde_transcode::transcode(&mut input, &mut serde_json::Serializer::pretty(&mut out))?;
        writeln!(out)?;
        out.flush()?;
        Ok(())
    }

    /// Writes a value as pretty JSON followed by a newline.
    pub fn print_json(&mut self, value: &impl serde::Serialize) -> anyhow::Result<()> {
        // Buffered here, so that the serializer's many small writes are plain copies into one buffer (through the
        // `dyn Write` and the escaping layer each cost a call: a third of `list --json`'s time on 110,000 rows).
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, &mut *self.out);
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
        out.flush()?;
        Ok(())
    }
}

/// An error the user can fix by asking differently (exit code 1).
#[derive(Debug)]
pub struct UserError(pub String);

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

/// Fails with a user error.
pub fn refuse<T>(message: impl Into<String>) -> anyhow::Result<T> {
    Err(UserError(message.into()).into())
}

/// Whether `path` exists and is something other than a regular file or a folder (a device such as `/dev/null`, a
/// FIFO): output is then written to it directly, never replaced by a file renamed over it.
pub fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| !meta.is_file() && !meta.is_dir())
}

/// Refuses to overwrite a file unless asked to.
pub fn check_writable(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        return refuse(format!("{} 已存在；如需覆盖请加 --force", path.display()));
    }
    Ok(())
}
