//! `mask(col, ...)`: hides a column's values before they reach the target.
//!
//! - `hmac`: the HMAC-SHA-256 of the value under a key, in lower-case hex (64 characters, or the
//!   first `length=N`). The same value and key always give the same mask, so joins on masked
//!   keys still match; without the key the values cannot be recomputed from a guess. The key
//!   comes from the environment variable `key=NAME` (default `FERRY_MASK_KEY`), read by the
//!   command line, at least 16 bytes. Text and binary values are hashed as their bytes, others
//!   as their text form (`12.50`, `1996-03-13`).
//! - `null`: every value becomes NULL.
//! - `prefix, length=N`: keeps the first N characters (text) or bytes (binary).
//!
//! NULL stays NULL. HMAC has no arrow kernel: it runs value by value, with the key's inner and
//! outer SHA-256 states computed once.

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, AsArray, StringBuilder};
use arrow::compute::kernels::substring::{substring, substring_by_char};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use sha2::{Digest, Sha256};

use super::parse::Arg;
use super::{
    find_column, replace_columns, without_key, without_source_type, StepContext, Transform,
};
use crate::error::{Error, Result};

/// The environment variable holding the key when `key=` is not given.
pub const DEFAULT_KEY_VARIABLE: &str = "FERRY_MASK_KEY";
/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// HMAC-SHA-256 (RFC 2104) with the padded key's states computed once.
#[derive(Clone)]
pub struct HmacSha256 {
    inner: Sha256,
    outer: Sha256,
}

impl HmacSha256 {
    const BLOCK: usize = 64;

    pub fn new(key: &[u8]) -> Self {
        let mut k = [0u8; Self::BLOCK];
        if key.len() > Self::BLOCK {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let pad = |byte: u8| {
            let mut h = Sha256::new();
            h.update(k.map(|b| b ^ byte));
            h
        };
        HmacSha256 {
            inner: pad(0x36),
            outer: pad(0x5c),
        }
    }

    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        inner.update(message);
        let mut outer = self.outer.clone();
        outer.update(inner.finalize());
        outer.finalize().into()
    }
}

#[derive(Clone)]
enum How {
    Hmac { mac: Box<HmacSha256>, chars: usize },
    Null,
    Prefix(usize),
}

/// `mask(col, hmac | null | prefix, ...)`.
pub struct Mask {
    column: String,
    how: How,
}

impl Mask {
    /// `with_secrets` false checks the syntax only (the key is looked up when bound to a table).
    pub fn try_new(args: &[Arg], ctx: &StepContext, with_secrets: bool) -> Result<Self> {
        let usage = || {
            Error::invalid_args(
                "mask takes a column and a method: mask(col, hmac[, length=N][, key=ENV]), \
                 mask(col, null) or mask(col, prefix, length=N)",
            )
        };
        let (column, method, options) = match args {
            [c, m, rest @ ..] if c.key.is_none() && m.key.is_none() => (
                c.column().ok_or_else(usage)?,
                m.word().ok_or_else(usage)?,
                rest,
            ),
            _ => return Err(usage()),
        };
        let mut length: Option<usize> = None;
        let mut key_var = DEFAULT_KEY_VARIABLE.to_string();
        for o in options {
            match (o.key.as_deref(), o.tokens.as_slice()) {
                (Some("length"), [super::parse::Token::Number(n)]) => {
                    length = Some(n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        Error::invalid_args(format!("mask: length={n} is not a positive number"))
                    })?)
                }
                (Some("key"), _) if o.column().is_some() || o.tokens.len() == 1 => {
                    key_var = match &o.tokens[0] {
                        super::parse::Token::Word(w) | super::parse::Token::Str(w) => w.clone(),
                        _ => return Err(usage()),
                    }
                }
                _ => {
                    return Err(Error::invalid_args(format!(
                        "mask: unknown option `{}` (length=N, key=ENV)",
                        o.text()
                    )))
                }
            }
        }
        let how = match (method.as_str(), length) {
            ("hmac", length) => {
                if length.is_some_and(|n| n > 64) {
                    return Err(Error::invalid_args(
                        "mask: an HMAC-SHA-256 has 64 hex characters; length must be at most 64",
                    ));
                }
                let key = if with_secrets {
                    let key = (ctx.secrets)(&key_var).ok_or_else(|| {
                        Error::invalid_args(format!(
                            "column \"{column}\": the mask key variable {key_var} is not set; \
                             export {key_var} with a secret of at least {MIN_KEY_BYTES} bytes"
                        ))
                    })?;
                    if key.len() < MIN_KEY_BYTES {
                        return Err(Error::invalid_args(format!(
                            "column \"{column}\": the mask key in {key_var} has {} bytes; use at \
                             least {MIN_KEY_BYTES}",
                            key.len()
                        )));
                    }
                    key.into_bytes()
                } else {
                    Vec::new()
                };
                How::Hmac {
                    mac: Box::new(HmacSha256::new(&key)),
                    chars: length.unwrap_or(64),
                }
            }
            ("null", None) => How::Null,
            ("prefix", Some(n)) => How::Prefix(n),
            ("prefix", None) => {
                return Err(Error::invalid_args(
                    "mask: prefix needs a length: mask(col, prefix, length=N)",
                ))
            }
            ("null", Some(_)) => return Err(Error::invalid_args("mask: null takes no length")),
            (other, _) => {
                return Err(Error::invalid_args(format!(
                    "mask: unknown method `{other}` (hmac, null, prefix)"
                )))
            }
        };
        Ok(Mask {
            column: column.to_string(),
            how,
        })
    }

    fn field(&self, input: &Field) -> Result<Field> {
        Ok(match &self.how {
            // A full-length HMAC keeps distinct values distinct: the key stays a key.
            How::Hmac { chars, .. } => {
                let f = without_source_type(input).with_data_type(DataType::Utf8);
                if *chars < 64 {
                    without_key(&f)
                } else {
                    f
                }
            }
            How::Null => without_key(input).with_nullable(true),
            How::Prefix(_) => match input.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => {
                    without_key(input)
                }
                other => {
                    return Err(Error::invalid_args(format!(
                        "mask prefix: column \"{}\" is {other}; prefix keeps the start of text or \
                         binary values (cast it to TEXT first)",
                        self.column
                    )))
                }
            },
        })
    }

    fn mask(&self, array: &ArrayRef) -> Result<ArrayRef> {
        let k = |e| Error::arrow(format!("mask of column \"{}\"", self.column), e);
        Ok(match &self.how {
            How::Null => new_null_array(array.data_type(), array.len()),
            How::Prefix(n) => match array.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 => {
                    substring_by_char_any(array, *n).map_err(k)?
                }
                _ => substring(array.as_ref(), 0, Some(*n as u64)).map_err(k)?,
            },
            How::Hmac { mac, chars } => {
                let mut out = StringBuilder::with_capacity(array.len(), array.len() * chars);
                let mut hex_buf = [0u8; 64];
                let mut push = |bytes: Option<&[u8]>| match bytes {
                    None => out.append_null(),
                    Some(b) => {
                        let digest = mac.mac(b);
                        // Infallible: the buffer holds exactly 2 * 32 hex digits.
                        let _ = hex::encode_to_slice(digest, &mut hex_buf);
                        let s = std::str::from_utf8(&hex_buf[..*chars]).unwrap_or_default();
                        out.append_value(s);
                    }
                };
                match array.data_type() {
                    DataType::Utf8 => array
                        .as_string::<i32>()
                        .iter()
                        .for_each(|v| push(v.map(str::as_bytes))),
                    DataType::LargeUtf8 => array
                        .as_string::<i64>()
                        .iter()
                        .for_each(|v| push(v.map(str::as_bytes))),
                    DataType::Binary => array.as_binary::<i32>().iter().for_each(&mut push),
                    DataType::LargeBinary => array.as_binary::<i64>().iter().for_each(&mut push),
                    _ => {
                        let text =
                            cast_with_options(array, &DataType::Utf8, &CastOptions::default())
                                .map_err(k)?;
                        text.as_string::<i32>()
                            .iter()
                            .for_each(|v| push(v.map(str::as_bytes)))
                    }
                }
                Arc::new(out.finish())
            }
        })
    }
}

fn substring_by_char_any(
    array: &ArrayRef,
    n: usize,
) -> std::result::Result<ArrayRef, arrow::error::ArrowError> {
    Ok(match array.data_type() {
        DataType::LargeUtf8 => Arc::new(substring_by_char(
            array.as_string::<i64>(),
            0,
            Some(n as u64),
        )?),
        _ => Arc::new(substring_by_char(
            array.as_string::<i32>(),
            0,
            Some(n as u64),
        )?),
    })
}

impl Transform for Mask {
    fn output_schema(&self, input: &SchemaRef) -> Result<SchemaRef> {
        let i = find_column(input, &self.column)?;
        if let How::Hmac { .. } = self.how {
            let t = input.field(i).data_type();
            if !arrow::compute::can_cast_types(t, &DataType::Utf8) {
                return Err(Error::invalid_args(format!(
                    "mask hmac: column \"{}\" is {t}, which has no text form to hash",
                    self.column
                )));
            }
        }
        let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields[i] = self.field(input.field(i))?;
        Ok(Arc::new(Schema::new_with_metadata(
            fields,
            input.metadata().clone(),
        )))
    }

    fn apply(&self, batch: RecordBatch) -> Result<RecordBatch> {
        let schema = self.output_schema(&batch.schema())?;
        let i = find_column(&batch.schema(), &self.column)?;
        let masked = self.mask(batch.column(i))?;
        replace_columns(&batch, schema, vec![(i, masked)])
    }

    fn passes_through(&self, column: &str) -> Option<String> {
        (column != self.column).then(|| column.to_string())
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{BinaryArray, Date32Array, Decimal128Array, Int64Array, StringArray};

    use super::super::parse::parse_step;
    use super::*;
    use crate::types::{field_with_source, META_PRIMARY_KEY, META_SOURCE_TYPE};

    const KEY: &str = "0123456789abcdef-test-key";

    fn ctx() -> StepContext {
        StepContext::new("t").with_secrets(Arc::new(|name| match name {
            "FERRY_MASK_KEY" => Some(KEY.to_string()),
            "SHORT" => Some("short".to_string()),
            _ => None,
        }))
    }

    fn mask(text: &str) -> Mask {
        Mask::try_new(&parse_step(text).unwrap().args, &ctx(), true).unwrap()
    }

    fn mask_err(text: &str) -> String {
        Mask::try_new(&parse_step(text).unwrap().args, &ctx(), true)
            .err()
            .unwrap()
            .to_string()
    }

    fn one(array: ArrayRef) -> RecordBatch {
        let f = field_with_source("c", array.data_type().clone(), true, "sqlite", "CHAR(15)");
        let mut meta = f.metadata().clone();
        meta.insert(META_PRIMARY_KEY.into(), "1".into());
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![f.with_metadata(meta)])),
            vec![array],
        )
        .unwrap()
    }

    fn texts(b: &RecordBatch) -> Vec<Option<String>> {
        b.column(0)
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 and test case 6 (a key longer than the block).
        let h = HmacSha256::new(b"Jefe").mac(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(h),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let h = HmacSha256::new(&[0xaa; 131])
            .mac(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(
            hex::encode(h),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn hmac_is_deterministic_keeps_nulls_and_changes_the_declared_type() {
        let m = mask("mask(c, hmac)");
        let a: ArrayRef = Arc::new(StringArray::from(vec![
            Some("25-989-741-2988"),
            None,
            Some(""),
            Some("25-989-741-2988"),
        ]));
        let b = one(a.clone());
        let schema = m.output_schema(&b.schema()).unwrap();
        assert_eq!(schema.field(0).data_type(), &DataType::Utf8);
        assert_eq!(schema.field(0).metadata().get(META_SOURCE_TYPE), None);
        assert_eq!(
            schema.field(0).metadata().get(META_PRIMARY_KEY).unwrap(),
            "1"
        );
        let out = m.apply(b).unwrap();
        assert_eq!(out.schema(), schema);
        let expected = |v: &str| hex::encode(HmacSha256::new(KEY.as_bytes()).mac(v.as_bytes()));
        assert_eq!(
            texts(&out),
            vec![
                Some(expected("25-989-741-2988")),
                None,
                Some(expected("")),
                Some(expected("25-989-741-2988"))
            ]
        );
        // Sliced and empty batches.
        let out = m.apply(one(a.slice(2, 2))).unwrap();
        assert_eq!(
            texts(&out),
            vec![Some(expected("")), Some(expected("25-989-741-2988"))]
        );
        assert_eq!(m.apply(one(a.slice(0, 0))).unwrap().num_rows(), 0);
        // Truncated: a prefix of the full mask, and no longer a key.
        let m = mask("mask(c, hmac, length=12, key=FERRY_MASK_KEY)");
        let out = m.apply(one(a)).unwrap();
        assert_eq!(
            texts(&out)[0].as_deref(),
            Some(&expected("25-989-741-2988")[..12])
        );
        assert_eq!(out.schema().field(0).metadata().get(META_PRIMARY_KEY), None);
    }

    #[test]
    fn hmac_hashes_binary_bytes_and_other_types_as_text() {
        let m = mask("mask(c, hmac)");
        let expected = |v: &[u8]| Some(hex::encode(HmacSha256::new(KEY.as_bytes()).mac(v)));
        let out = m
            .apply(one(Arc::new(BinaryArray::from(vec![
                Some(&[0u8, 255][..]),
                None,
            ]))))
            .unwrap();
        assert_eq!(texts(&out), vec![expected(&[0, 255]), None]);
        let out = m
            .apply(one(Arc::new(Int64Array::from(vec![Some(-42), None]))))
            .unwrap();
        assert_eq!(texts(&out), vec![expected(b"-42"), None]);
        let dec = Decimal128Array::from(vec![1250])
            .with_precision_and_scale(15, 2)
            .unwrap();
        let out = m.apply(one(Arc::new(dec))).unwrap();
        assert_eq!(texts(&out), vec![expected(b"12.50")]);
        let out = m
            .apply(one(Arc::new(Date32Array::from(vec![9568]))))
            .unwrap();
        assert_eq!(texts(&out), vec![expected(b"1996-03-13")]);
    }

    #[test]
    fn null_and_prefix() {
        let a: ArrayRef = Arc::new(StringArray::from(vec![Some("héllo"), None, Some("ab")]));
        let m = mask("mask(c, null)");
        let b = one(a.clone());
        let out = m.apply(b.clone()).unwrap();
        assert_eq!(out.column(0).null_count(), 3);
        assert!(out.schema().field(0).is_nullable());
        assert_eq!(
            out.schema()
                .field(0)
                .metadata()
                .get(META_SOURCE_TYPE)
                .unwrap(),
            "CHAR(15)"
        );
        assert_eq!(out.schema().field(0).metadata().get(META_PRIMARY_KEY), None);
        let m = mask("mask(c, prefix, length=2)");
        let out = m.apply(b).unwrap();
        assert_eq!(
            texts(&out),
            vec![Some("hé".into()), None, Some("ab".into())]
        );
        let out = m.apply(one(a.slice(1, 2))).unwrap();
        assert_eq!(texts(&out), vec![None, Some("ab".into())]);
        let bin: ArrayRef = Arc::new(BinaryArray::from(vec![Some(&b"abc"[..]), None]));
        let out = m.apply(one(bin)).unwrap();
        assert_eq!(
            out.column(0).as_binary::<i32>().iter().collect::<Vec<_>>(),
            vec![Some(&b"ab"[..]), None]
        );
        let e = m
            .output_schema(&one(Arc::new(Int64Array::from(vec![1]))).schema())
            .unwrap_err();
        assert_eq!(e.to_string(), "mask prefix: column \"c\" is Int64; prefix keeps the start of text or binary values (cast it to TEXT first)");
    }

    #[test]
    fn bad_masks_say_why() {
        assert_eq!(mask_err("mask(c, hmac, key=NOPE)"), "column \"c\": the mask key variable NOPE is not set; export NOPE with a secret of at least 16 bytes");
        assert_eq!(
            mask_err("mask(c, hmac, key=SHORT)"),
            "column \"c\": the mask key in SHORT has 5 bytes; use at least 16"
        );
        assert_eq!(
            mask_err("mask(c, hmac, length=65)"),
            "mask: an HMAC-SHA-256 has 64 hex characters; length must be at most 64"
        );
        assert_eq!(
            mask_err("mask(c, prefix)"),
            "mask: prefix needs a length: mask(col, prefix, length=N)"
        );
        assert_eq!(
            mask_err("mask(c, scramble)"),
            "mask: unknown method `scramble` (hmac, null, prefix)"
        );
        assert_eq!(
            mask_err("mask(c, null, salt=1)"),
            "mask: unknown option `salt=1` (length=N, key=ENV)"
        );
    }
}
