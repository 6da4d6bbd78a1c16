//! A table appended on a thread of its own: chunks sent in order through a bounded feed, the file
//! finished once the feed is closed.

use polars::prelude::DataFrame;

use crate::error::Result;

/// The sending end of a table appended on its own thread.
pub(super) struct Feed(std::sync::mpsc::SyncSender<DataFrame>);

impl Feed {
    /// Sends a chunk; a thread that stopped on an error says so when it is joined.
    pub(super) fn send(&self, chunk: DataFrame) {
        let _ = self.0.send(chunk);
    }
}

/// Closes a table's feed: its thread finishes the table.
pub(super) fn close<R>((feed, finishing): (Feed, Finishing<'_, R>)) -> Finishing<'_, R> {
    drop(feed);
    finishing
}

/// The thread appending a table, and what it gives once its feed is closed.
pub(super) struct Finishing<'scope, R>(std::thread::ScopedJoinHandle<'scope, Result<R>>);

impl<R> Finishing<'_, R> {
    pub(super) fn join(self) -> Result<R> {
        self.0.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// Appends the chunks sent to the returned feed, in order, on a thread of `scope`: `open` makes the
/// appender, `append` takes each chunk, `finish` completes the file once the feed is dropped.
pub(super) fn on_its_own_thread<'scope, 'env, A: 'scope, R: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    open: impl FnOnce() -> Result<A> + Send + 'scope,
    append: fn(&mut A, &DataFrame) -> Result<()>,
    finish: fn(A) -> Result<R>,
) -> (Feed, Finishing<'scope, R>) {
    // Two chunks in flight at most: a slow writer holds the datasets back, not memory.
    let (sender, chunks) = std::sync::mpsc::sync_channel::<DataFrame>(2);
    let done = scope.spawn(move || {
        let mut appender = open()?;
        for chunk in chunks {
            append(&mut appender, &chunk)?;
        }
        finish(appender)
    });
    (Feed(sender), Finishing(done))
}
