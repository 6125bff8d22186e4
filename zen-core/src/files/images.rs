//! Images for vision models: checked, sized and loaded.

use std::fs;

use super::cache::FileCache;
use super::human_size;
use super::paths::check_absolute;
use crate::error::{Error, Result};
use crate::models::ModelSpec;
use crate::providers::ImageData;

/// The most images one request may carry.
pub const MAX_IMAGES: usize = 5;

/// The total image size allowed, in MiB, for a model whose catalogue entry
/// does not say (`max_image_size_mb` of 0).
pub const DEFAULT_MAX_IMAGE_MB: f64 = 20.0;

/// The argument images come in; named in every error.
const FIELD: &str = "images";

/// The accepted image types.
const ACCEPTED: &str = "PNG, JPEG, GIF or WebP";

/// Checks and loads the images of a request for the model `spec`.
///
/// Each entry is an absolute path or a `data:image/…;base64,…` URL. Files
/// must pass the same checks as other attachments and are recognised by
/// their first bytes; data URLs by their MIME type. PNG, JPEG, GIF and WebP
/// are accepted, at most [`MAX_IMAGES`] of them, together no larger than the
/// model's `max_image_size_mb` ([`DEFAULT_MAX_IMAGE_MB`] when that is 0).
/// A file is not read when its size alone breaks that limit.
///
/// Every problem fails the call with
/// [`Error::InvalidArguments`] for `images`, naming the image; an empty list
/// is fine for any model.
///
/// Reads from the disk every time; [`FileCache::load_images`] reads an
/// image file again only when it changed.
pub fn load_images(raw: &[String], spec: &ModelSpec) -> Result<Vec<ImageData>> {
    FileCache::disabled().load_images(raw, spec)
}

impl FileCache {
    /// [`load_images`], with image files taken from this cache while their
    /// modification time and size are unchanged.
    pub fn load_images(&self, raw: &[String], spec: &ModelSpec) -> Result<Vec<ImageData>> {
        load(self, raw, spec)
    }
}

fn load(cache: &FileCache, raw: &[String], spec: &ModelSpec) -> Result<Vec<ImageData>> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    if !spec.supports_images {
        return Err(Error::invalid(
            FIELD,
            format!(
                "model {} does not accept images; choose a model that supports images, \
                 or send the request without them",
                spec.model_name
            ),
        ));
    }
    if raw.len() > MAX_IMAGES {
        return Err(Error::invalid(
            FIELD,
            format!(
                "{} images were given; at most {MAX_IMAGES} may be attached to one request",
                raw.len()
            ),
        ));
    }
    let limit_mb = if spec.max_image_size_mb > 0.0 {
        spec.max_image_size_mb
    } else {
        DEFAULT_MAX_IMAGE_MB
    };
    // Float to integer casts saturate; the catalogue refuses negative sizes.
    let limit = (limit_mb * 1024.0 * 1024.0) as u64;
    let too_large = |total: u64| {
        Error::invalid(
            FIELD,
            format!(
                "the images add up to at least {}, more than the {} model {} accepts; \
                 attach fewer or smaller images",
                human_size(total),
                human_size(limit),
                spec.model_name
            ),
        )
    };

    let mut images = Vec::with_capacity(raw.len());
    let mut total = 0u64;
    for entry in raw {
        let image = if entry.starts_with("data:") {
            from_data_url(entry)?
        } else {
            from_file(cache, entry, limit.saturating_sub(total)).map_err(|err| match err {
                FileError::TooLarge(size) => too_large(total.saturating_add(size)),
                FileError::Other(err) => err,
            })?
        };
        total = total.saturating_add(image.decoded_len() as u64);
        if total > limit {
            return Err(too_large(total));
        }
        images.push(image);
    }
    Ok(images)
}

/// An image from a data URL, of an accepted type.
fn from_data_url(url: &str) -> Result<ImageData> {
    let mut image = ImageData::from_data_url(url)?;
    let mime = image.mime_type.to_ascii_lowercase();
    let mime = match mime.as_str() {
        "image/jpg" | "image/pjpeg" => "image/jpeg".to_owned(),
        _ => mime,
    };
    if !["image/png", "image/jpeg", "image/gif", "image/webp"].contains(&mime.as_str()) {
        let shown: String = url.chars().take(40).collect();
        return Err(Error::invalid(
            FIELD,
            format!(
                "the data URL `{shown}…` holds {}; only {ACCEPTED} images are accepted",
                image.mime_type
            ),
        ));
    }
    image.mime_type = mime;
    Ok(image)
}

enum FileError {
    /// The file alone is over the bytes left; its size.
    TooLarge(u64),
    Other(Error),
}

impl From<Error> for FileError {
    fn from(err: Error) -> Self {
        FileError::Other(err)
    }
}

/// An image file, read only if it is at most `room` bytes.
fn from_file(cache: &FileCache, raw: &str, room: u64) -> Result<ImageData, FileError> {
    let invalid = |why: String| FileError::Other(Error::invalid(FIELD, format!("{raw}: {why}")));
    if !std::path::Path::new(raw).is_absolute() {
        return Err(invalid(
            "not an absolute path or a data: URL; pass the image's full path".to_owned(),
        ));
    }
    let path = check_absolute(raw).map_err(|refusal| invalid(refusal.reason))?;
    let meta = fs::metadata(&path).map_err(|err| invalid(format!("can't be read ({err})")))?;
    if !meta.is_file() {
        return Err(invalid("not a regular file".to_owned()));
    }
    if meta.len() > room {
        return Err(FileError::TooLarge(meta.len()));
    }
    let bytes = cache
        .read(&path, &meta, room)
        .map_err(|err| invalid(format!("can't be read ({err})")))?;
    if bytes.len() as u64 > room {
        return Err(FileError::TooLarge(bytes.len() as u64));
    }
    let mime = image_type(&bytes)
        .ok_or_else(|| invalid(format!("not a {ACCEPTED} image (by its content)")))?;
    Ok(ImageData::from_bytes(mime, &bytes))
}

/// The MIME type of an image, from its first bytes.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()) {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_types_by_magic_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a.."), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\x10\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"RIFF\x10\0\0\0WAVE"), None);
        assert_eq!(image_type(b"<svg"), None);
        assert_eq!(image_type(b""), None);
    }
}
