//! Permissions of the local server's data directory and outbox, which hold
//! patient data: names, email addresses and working join links. Only their
//! owner may read them.

use std::io;
use std::path::Path;

/// Mode of a directory with patient data: owner only (`rwx------`).
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// Mode of a file with patient data or a secret: owner only (`rw-------`).
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents with mode 0700. An existing `dir`
/// that group or others may access is restricted to 0700, see
/// [`restrict_to_owner`].
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, PRIVATE_DIR_MODE);
    builder.create(dir)?;
    restrict_to_owner(dir, PRIVATE_DIR_MODE)
}

/// Sets `path` to `mode` when group or others have any permission on it,
/// and logs a warning with the path and the previous mode. A path that only
/// its owner may access is left as it is.
#[cfg_attr(not(unix), allow(unused_variables))]
pub fn restrict_to_owner(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let previous = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if previous & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            tracing::warn!(
                path = %path.display(),
                "group or others had access (mode {previous:o}); restricted to the owner \
                 (mode {mode:o}), because it holds patient data or a secret"
            );
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::{Arc, Mutex};

    use super::*;

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn set_mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Runs `work` with a subscriber that records WARN and above, and returns
    /// what it logged.
    fn warnings_of(work: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, work);
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn new_directory_and_parents_are_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data").join("outbox");
        let log = warnings_of(|| create_private_dir(&dir).unwrap());
        assert_eq!(mode_of(&dir), 0o700);
        assert_eq!(mode_of(&root.path().join("data")), 0o700);
        assert_eq!(log, "", "a new directory needs no warning");
    }

    #[test]
    fn open_directory_is_restricted_with_warning() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        set_mode(&dir, 0o755);
        let log = warnings_of(|| create_private_dir(&dir).unwrap());
        assert_eq!(mode_of(&dir), 0o700);
        assert!(log.contains("WARN"), "{log}");
        assert!(log.contains("mode 755"), "{log}");
        assert!(log.contains(&dir.display().to_string()), "{log}");
    }

    #[test]
    fn private_directory_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        set_mode(&dir, 0o500);
        let log = warnings_of(|| create_private_dir(&dir).unwrap());
        assert_eq!(mode_of(&dir), 0o500, "a stricter mode stays");
        assert_eq!(log, "");
    }

    #[test]
    fn readable_file_is_restricted() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("link-key");
        std::fs::write(&file, "x").unwrap();
        set_mode(&file, 0o644);
        let log = warnings_of(|| restrict_to_owner(&file, PRIVATE_FILE_MODE).unwrap());
        assert_eq!(mode_of(&file), 0o600);
        assert!(log.contains("mode 644"), "{log}");
    }
}
