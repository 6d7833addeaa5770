//! A file written on a thread of its own, so that the kernel copying a large report into its cache overlaps the
//! rendering of the rest (a million-event report writes up to 250 MB).

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

/// Rendered bytes are gathered into pieces of this size and handed to the writing thread.
const PIECE: usize = 1 << 20;

pub struct BackgroundFile {
    pieces: Option<SyncSender<Vec<u8>>>,
    piece: Vec<u8>,
    writer: Option<JoinHandle<io::Result<File>>>,
}

impl BackgroundFile {
    pub fn new(mut file: File) -> BackgroundFile {
        let (pieces, received) = sync_channel::<Vec<u8>>(4);
        let writer = std::thread::spawn(move || {
            for piece in received {
                file.write_all(&piece)?;
            }
            Ok(file)
        });
        BackgroundFile { pieces: Some(pieces), piece: Vec::with_capacity(PIECE), writer: Some(writer) }
    }

    fn send(&mut self) -> io::Result<()> {
        let piece = std::mem::replace(&mut self.piece, Vec::with_capacity(PIECE));
        match &self.pieces {
            Some(pieces) if pieces.send(piece).is_ok() => Ok(()),
            // The writing thread stopped on an error: it is returned by `finish`.
            _ => Err(io::Error::other("写入报告文件的线程已停止")),
        }
    }

    /// Writes what is left and returns the file once every byte is written, or the first error.
    pub fn finish(mut self) -> io::Result<File> {
        let sent = if self.piece.is_empty() { Ok(()) } else { self.send() };
        self.pieces = None;
        let written = match self.writer.take().map(JoinHandle::join) {
            Some(Ok(written)) => written,
            _ => Err(io::Error::other("写入报告文件的线程意外结束")),
        };
        let file = written?;
        sent?;
        Ok(file)
    }
}

impl Write for BackgroundFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.piece.extend_from_slice(data);
        if self.piece.len() >= PIECE {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek};

    use super::*;

    #[test]
    fn every_byte_arrives_in_order_across_pieces() {
        let file = tempfile::tempfile().unwrap();
        let mut background = BackgroundFile::new(file);
        let bytes: Vec<u8> = (0..3 * PIECE + 12_345).map(|i| (i * 31 % 251) as u8).collect();
        for part in bytes.chunks(7_777) {
            background.write_all(part).unwrap();
        }
        let mut file = background.finish().unwrap();
        file.rewind().unwrap();
        let mut read = Vec::new();
        file.read_to_end(&mut read).unwrap();
        assert_eq!(read, bytes);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_failing_disk_is_an_error_not_a_hang() {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("Linux has /dev/full");
        let mut background = BackgroundFile::new(full);
        let piece = vec![0u8; PIECE];
        // Pieces may be accepted before the writing thread fails; the disk's error comes back from `finish`.
        let _ = (0..16).try_for_each(|_| background.write_all(&piece));
        let error = background.finish().expect_err("no space left is reported");
        assert_eq!(error.raw_os_error(), Some(28), "ENOSPC, not the channel's error: {error}");
    }
}
