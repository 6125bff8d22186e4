//! The `files` module against a real file system: path checks, folder
//! expansion, file blocks within budgets, `prompt.txt` and images.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use zen_core::Error;
use zen_core::files::{
    self, BlockStatus, Expanded, MAX_FILE_BYTES, Refusal, expand_paths, load_images,
    read_file_block, read_prompt_file, resolve_path, take_prompt_file,
};
use zen_core::models::ModelSpec;

const FIELD: &str = "absolute_file_paths";
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// A temporary folder, resolved (so expected paths compare equal).
fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    (dir, root)
}

fn write(root: &Path, relative: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, content).unwrap();
    path
}

fn s(path: &Path) -> String {
    path.display().to_string()
}

fn refusal(raw: &str) -> Refusal {
    match resolve_path(raw, FIELD).unwrap() {
        Ok(path) => panic!("{raw} was accepted as {}", path.display()),
        Err(refusal) => refusal,
    }
}

fn expand(paths: &[&str]) -> Expanded {
    let raw: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
    expand_paths(&raw, FIELD).unwrap()
}

fn spec(name: &str, images: bool, max_mb: f64) -> ModelSpec {
    serde_json::from_value(serde_json::json!({
        "model_name": name,
        "supports_images": images,
        "max_image_size_mb": max_mb,
    }))
    .unwrap()
}

fn invalid_message(err: Error, field: &str) -> String {
    match err {
        Error::InvalidArguments { field: f, message } => {
            assert_eq!(f, field);
            message
        }
        other => panic!("expected InvalidArguments, got {other:?}"),
    }
}

#[test]
fn relative_paths_fail_the_whole_call() {
    let (_dir, root) = temp();
    let good = write(&root, "a.txt", "a");
    for raw in ["src/main.rs", "./a.txt", "", "~/notes.md"] {
        let err = resolve_path(raw, FIELD).unwrap_err();
        let message = invalid_message(err, FIELD);
        assert!(message.contains(&format!("`{raw}`")), "{message}");
        assert!(message.contains("absolute path"), "{message}");
    }
    // In a list, one relative path fails everything, named by the caller's field.
    let err = expand_paths(&[s(&good), "relative.txt".into()], "files").unwrap_err();
    assert!(invalid_message(err, "files").contains("relative.txt"));
}

#[test]
fn refused_path_classes() {
    let (_dir, root) = temp();
    let to_passwd = root.join("passwd-link");
    std::os::unix::fs::symlink("/etc/passwd", &to_passwd).unwrap();
    let to_hostname = root.join("hostname-link");
    std::os::unix::fs::symlink("/etc/hostname", &to_hostname).unwrap();
    let to_proc = root.join("proc-link");
    std::os::unix::fs::symlink("/proc/self", &to_proc).unwrap();
    let missing = root.join("missing.txt");

    let cases: Vec<(String, &str)> = vec![
        ("/etc/passwd".into(), "system location /etc"),
        ("/etc".into(), "system location /etc"),
        ("/proc/self/environ".into(), "system location /proc"),
        ("/usr/bin/env".into(), "system location /usr"),
        ("/bin/sh".into(), "system location /usr"),
        ("/dev/null".into(), "system location /dev"),
        ("/sys/kernel".into(), "system location /sys"),
        ("/etc/does-not-exist".into(), "system location /etc"),
        (
            s(&to_passwd),
            "resolves to /etc/passwd, inside the system location /etc",
        ),
        (s(&to_hostname), "resolves to /etc/hostname"),
        (s(&to_proc), "inside the system location /proc"),
        ("/".into(), "filesystem root"),
        ("/home".into(), "home directory"),
        (s(&missing), "does not exist"),
    ];
    for (raw, expected) in &cases {
        // `/bin` is a link into `/usr` on merged-/usr systems, else its own.
        let refused = refusal(raw);
        assert_eq!(&refused.path, raw);
        let ok = refused.reason.contains(expected)
            || (raw == "/bin/sh" && refused.reason.contains("system location /bin"));
        assert!(ok, "{raw}: {}", refused.reason);
    }
}

#[test]
fn the_home_directory_itself_is_refused_but_not_what_is_inside() {
    let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else {
        return;
    };
    let home = PathBuf::from(home);
    if !home.is_absolute() || !home.exists() {
        return;
    }
    let refused = refusal(&s(&home));
    // $HOME is /root for root, which is a system location as well.
    assert!(
        refused.reason.contains("home directory") || refused.reason.contains("/root"),
        "{}",
        refused.reason
    );
}

#[test]
fn files_and_folders_in_a_temp_dir_are_accepted() {
    let (_dir, root) = temp();
    let file = write(&root, "src/lib.rs", "pub fn f() {}\n");
    assert_eq!(resolve_path(&s(&file), FIELD).unwrap(), Ok(file.clone()));
    assert_eq!(
        resolve_path(&s(&root.join("src")), FIELD).unwrap(),
        Ok(root.join("src"))
    );
    // A path with `..` and a trailing slash resolves to the same place.
    let winding = format!("{}/src/../src/", root.display());
    assert_eq!(resolve_path(&winding, FIELD).unwrap(), Ok(root.join("src")));

    let out = expand(&[&s(&file), &s(&root.join("src"))]);
    assert_eq!(out.files, vec![file]);
    assert!(out.refused.is_empty());
}

#[test]
fn folder_expansion_honours_gitignore_and_skips_noise() {
    let (_dir, root) = temp();
    write(&root, ".gitignore", "*.log\nsecret/\n");
    let kept = [
        write(&root, "README.md", "# readme\n"),
        write(&root, "b/z.rs", "fn z() {}\n"),
        write(&root, "b/a.py", "print('a')\n"),
        write(&root, "a/deep/x.txt", "x\n"),
        write(&root, "empty.txt", ""),
    ];
    for noise in [
        "debug.log",
        "b/trace.log",
        "secret/key.txt",
        "node_modules/pkg/index.js",
        "target/debug/build.rs",
        ".git/config",
        "__pycache__/m.txt",
        "build/out.txt",
        ".env",
        ".hidden/notes.txt",
    ] {
        write(&root, noise, "noise\n");
    }
    write(
        &root,
        "logo.png",
        "not really a png, but the extension says binary",
    );
    write(&root, "blob.dat", b"abc\0def");
    write(&root, "latin1.txt", b"caf\xe9\n");

    let out = expand(&[&s(&root)]);
    let mut expected: Vec<PathBuf> = kept.to_vec();
    expected.sort();
    assert_eq!(out.files, expected);
    assert!(out.refused.is_empty(), "{:?}", out.refused);
    // Same answer every time.
    assert_eq!(expand(&[&s(&root)]), out);
}

#[test]
fn explicit_order_is_kept_and_duplicates_dropped() {
    let (_dir, root) = temp();
    let a = write(&root, "dir/a.txt", "a\n");
    let b = write(&root, "dir/b.txt", "b\n");
    let c = write(&root, "c.txt", "c\n");
    let link = root.join("link-to-c.txt");
    std::os::unix::fs::symlink(&c, &link).unwrap();

    let out = expand(&[&s(&c), &s(&root.join("dir")), &s(&b), &s(&link)]);
    assert_eq!(out.files, vec![c.clone(), a, b]);

    // A folder named explicitly is expanded even if it would be skipped inside
    // another folder; a symlinked file inside a folder counts once.
    let nm = write(&root, "node_modules/m.js", "m\n");
    let out = expand(&[&s(&root.join("node_modules")), &s(&root)]);
    assert_eq!(out.files[0], nm);
    assert_eq!(out.files.iter().filter(|f| **f == c).count(), 1);
    assert!(!out.files.contains(&link));
}

#[test]
fn symlinks_inside_folders_are_checked() {
    let (_dir, root) = temp();
    let real = write(&root, "real.txt", "ok\n");
    std::os::unix::fs::symlink("/etc/passwd", root.join("passwd")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("etc-dir")).unwrap();
    let out = expand(&[&s(&root)]);
    assert_eq!(out.files, vec![real]);
    assert_eq!(out.refused.len(), 1, "{:?}", out.refused);
    assert_eq!(out.refused[0].path, s(&root.join("passwd")));
    assert!(out.refused[0].reason.contains("/etc"));
}

#[test]
fn explicitly_named_binary_and_special_files_are_refused() {
    let (_dir, root) = temp();
    let png = write(&root, "shot.png", "x");
    let blob = write(&root, "blob", b"\x7fELF\0\0\0");
    let text = write(&root, "notes", "plain text\n");
    let out = expand(&[&s(&png), &s(&blob), &s(&text), "/dev/null"]);
    assert_eq!(out.files, vec![text]);
    let reasons: Vec<(&str, &str)> = out
        .refused
        .iter()
        .map(|r| (r.path.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 3);
    assert_eq!(reasons[0].0, s(&png));
    assert!(reasons[0].1.starts_with("binary file"));
    assert_eq!(reasons[1].0, s(&blob));
    assert!(reasons[1].1.starts_with("binary file"));
    assert_eq!(reasons[2].0, "/dev/null");
}

/// Peak resident memory of this process, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn large_files_are_never_loaded() {
    let (_dir, root) = temp();
    let huge = root.join("huge.txt");
    File::create(&huge)
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    let before = peak_rss_kib();
    let block = read_file_block(&huge, u64::MAX, true);
    assert_eq!(
        block.status,
        BlockStatus::TooLarge {
            bytes: 100 * 1024 * 1024
        }
    );
    assert_eq!(
        block.text,
        format!(
            "--- FILE LEFT OUT: {} (100.0 MiB, over the 1.0 MiB limit for one file) ---\n",
            huge.display()
        )
    );
    assert_eq!(block.tokens, zen_core::tokens::estimate_tokens(&block.text));
    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        assert!(
            after - before < 50 * 1024,
            "peak RSS grew {before} → {after} KiB"
        );
    }

    // Just over the per-file cap: a marker, not the content.
    let over = write(&root, "over.txt", "y".repeat(MAX_FILE_BYTES as usize + 1));
    let block = read_file_block(&over, u64::MAX, false);
    assert_eq!(
        block.status,
        BlockStatus::TooLarge {
            bytes: MAX_FILE_BYTES + 1
        }
    );
    assert!(block.text.starts_with("--- FILE LEFT OUT: "));
    assert!(!block.text.contains("yyyy"));
    assert!(!block.is_embedded());
}

#[test]
fn files_over_the_budget_are_left_out() {
    let (_dir, root) = temp();
    let file = write(&root, "a.txt", "z".repeat(4000));
    // 4000 bytes need 1000 tokens: not read at all with 100.
    let block = read_file_block(&file, 100, false);
    assert_eq!(block.status, BlockStatus::OverBudget { bytes: 4000 });
    assert!(block.text.contains("more than the token budget"));
    assert!(!block.text.contains("zzzz"));
    // The content fits 1000 tokens, but not with its header: still left out.
    let block = read_file_block(&file, 1000, false);
    assert_eq!(block.status, BlockStatus::OverBudget { bytes: 4000 });
    // With room for the header it goes in, and says what it cost.
    let block = read_file_block(&file, 1100, false);
    assert_eq!(block.status, BlockStatus::Embedded);
    assert_eq!(block.tokens, zen_core::tokens::estimate_tokens(&block.text));
    assert!(block.tokens <= 1100);

    // Paths are checked again when read (they may come from stored history).
    let system = read_file_block(Path::new("/etc/passwd"), 1000, false);
    assert!(
        matches!(&system.status, BlockStatus::Unreadable { reason } if reason.contains("/etc"))
    );
    assert!(!system.text.contains("root:"));
    let gone = read_file_block(&root.join("gone.txt"), 1000, false);
    assert!(matches!(gone.status, BlockStatus::Unreadable { .. }));
    let note = files::omitted_note(&[block, gone]).unwrap();
    assert!(note.starts_with("1 file was left out: "), "{note}");
    assert!(note.contains("gone.txt (can't be read: "), "{note}");
}

#[test]
fn blocks_show_path_modified_time_and_content() {
    let (_dir, root) = temp();
    let file = write(&root, "main.rs", "fn main() {\n    run();\n}\n");
    let when = humantime::parse_rfc3339("2026-11-21T15:04:05Z").unwrap();
    File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(when)
        .unwrap();
    let shown = file.display();

    let block = read_file_block(&file, 10_000, false);
    assert_eq!(block.path, file);
    assert_eq!(
        block.text,
        format!(
            "--- BEGIN FILE: {shown} (modified 2026-11-21T15:04:05Z) ---\n\
             fn main() {{\n    run();\n}}\n\
             --- END FILE: {shown} ---\n"
        )
    );

    let block = read_file_block(&file, 10_000, true);
    assert_eq!(
        block.text,
        format!(
            "--- BEGIN FILE: {shown} (modified 2026-11-21T15:04:05Z) ---\n\
             \x20  1│ fn main() {{\n\
             \x20  2│     run();\n\
             \x20  3│ }}\n\
             --- END FILE: {shown} ---\n"
        )
    );
}

#[test]
fn line_number_width_grows_past_9999_lines() {
    let (_dir, root) = temp();
    let lines = |n: usize| -> String { (1..=n).map(|i| format!("line {i}\n")).collect() };
    let cases = [
        (9_999, "\n   1│ line 1\n", "\n9999│ line 9999\n"),
        (10_000, "\n    1│ line 1\n", "\n10000│ line 10000\n"),
    ];
    for (count, first, last) in cases {
        let file = write(&root, &format!("{count}.txt"), lines(count));
        let block = read_file_block(&file, 1_000_000, true);
        assert_eq!(block.status, BlockStatus::Embedded, "{count}");
        assert!(block.text.contains(first), "{count}: first line");
        assert!(block.text.contains(last), "{count}: last line");
        assert!(block.text.contains(&format!("{last}--- END FILE: ")));
    }
}

#[test]
fn prompt_txt_is_taken_out_and_read() {
    let (_dir, root) = temp();
    let a = write(&root, "a.rs", "a");
    let prompt = write(&root, "prompt.txt", "Explain this code.\n");
    let other = write(&root, "my_prompt.txt", "not the prompt");
    let upper = write(&root, "Prompt.txt", "not the prompt either");

    let mut files = vec![a.clone(), prompt.clone(), other.clone(), upper.clone()];
    assert_eq!(take_prompt_file(&mut files), Some(prompt.clone()));
    assert_eq!(files, vec![a.clone(), other, upper]);
    assert_eq!(take_prompt_file(&mut files), None);
    assert_eq!(read_prompt_file(&prompt).unwrap(), "Explain this code.\n");

    let refused = |path: &Path| match read_prompt_file(path) {
        Err(Error::FileRefused { path: p, reason }) => {
            assert_eq!(p, s(path));
            reason
        }
        other => panic!("expected FileRefused for {}, got {other:?}", path.display()),
    };
    assert!(refused(&root.join("nope/prompt.txt")).contains("does not exist"));
    let big = write(
        &root,
        "big/prompt.txt",
        "p".repeat(MAX_FILE_BYTES as usize + 10),
    );
    assert!(refused(&big).contains("limit"));
    let latin1 = write(&root, "l/prompt.txt", b"caf\xe9");
    assert!(refused(&latin1).contains("UTF-8"));
    assert!(refused(Path::new("/etc/passwd")).contains("system location"));
}

#[test]
fn images_are_checked_and_loaded() {
    let (_dir, root) = temp();
    let mut png_bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    png_bytes.extend_from_slice(&[0u8; 56]);
    let png = write(&root, "shot.png", &png_bytes);
    let jpeg = write(&root, "photo.jpeg", [0xff, 0xd8, 0xff, 0xe0, 0, 0x10]);
    let data_url = format!("data:image/png;base64,{PNG_1X1}");
    let vision = spec("eyes", true, 1.0);

    // Accepted: files (typed by their bytes) and data URLs.
    let images = load_images(&[s(&png), data_url.clone(), s(&jpeg)], &vision).unwrap();
    assert_eq!(images.len(), 3);
    assert_eq!(images[0].mime_type, "image/png");
    assert_eq!(images[0].decoded_len(), png_bytes.len());
    assert_eq!(images[1].mime_type, "image/png");
    assert_eq!(images[1].base64, PNG_1X1);
    assert_eq!(images[2].mime_type, "image/jpeg");
    assert!(
        load_images(&[], &spec("blind", false, 0.0))
            .unwrap()
            .is_empty()
    );
    let jpg_url = format!("data:image/jpg;base64,{PNG_1X1}");
    assert_eq!(
        load_images(&[jpg_url], &vision).unwrap()[0].mime_type,
        "image/jpeg"
    );

    let fake_png = write(&root, "fake.png", "just text");
    let svg = write(&root, "d.svg", "<svg/>");
    let too_big = write(&root, "big.png", {
        let mut b = png_bytes.clone();
        b.resize(2048, 0);
        b
    });
    let six: Vec<String> = (0..6).map(|_| data_url.clone()).collect();
    let (blind, tiny, small) = (
        spec("blind", false, 0.0),
        spec("tiny", true, 0.001),
        spec("small", true, 0.002),
    );
    let not_image = "not a PNG, JPEG, GIF or WebP image";
    let cases: Vec<(Vec<String>, &ModelSpec, &str)> = vec![
        (vec![s(&png)], &blind, "model blind does not accept images"),
        (six, &vision, "6 images were given; at most 5"),
        (vec![s(&too_big)], &tiny, "more than the 1.0 KiB model tiny"),
        (vec![data_url.clone(), s(&too_big)], &small, "model small"),
        (vec![s(&fake_png)], &vision, not_image),
        (vec![s(&svg)], &vision, not_image),
        (
            vec!["data:image/svg+xml;base64,PHN2Zy8+".into()],
            &vision,
            "only PNG, JPEG",
        ),
        (
            vec!["data:text/plain;base64,aGk=".into()],
            &vision,
            "not an image type",
        ),
        (
            vec!["/etc/passwd".into()],
            &vision,
            "/etc/passwd: inside the system location /etc",
        ),
        (vec![s(&root.join("none.png"))], &vision, "does not exist"),
        (
            vec!["shots/a.png".into()],
            &vision,
            "shots/a.png: not an absolute path",
        ),
    ];
    for (raw, model, expected) in cases {
        let err = load_images(&raw, model).unwrap_err();
        let message = invalid_message(err, "images");
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
    }
}

#[test]
fn image_size_limit_defaults_to_twenty_mib() {
    let (_dir, root) = temp();
    // A sparse 21 MiB "PNG": refused by its size before it is read.
    let path = root.join("huge.png");
    File::create(&path)
        .unwrap()
        .set_len(21 * 1024 * 1024)
        .unwrap();
    let err = load_images(&[s(&path)], &spec("eyes", true, 0.0)).unwrap_err();
    assert!(invalid_message(err, "images").contains("more than the 20.0 MiB"));
}
