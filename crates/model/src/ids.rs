use std::fmt;

/// Why an id from the wire was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("{kind} must be {expected} bytes, got {got}")]
    WrongLength {
        kind: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{kind} must not be all zeros")]
    AllZero { kind: &'static str },
    #[error("{kind} is not valid hex: {value:?}")]
    NotHex { kind: &'static str, value: String },
}

macro_rules! id_type {
    ($name:ident, $len:expr, $kind:expr) => {
        #[doc = concat!("An OTLP ", $kind, " (", stringify!($len), " bytes, never all zero).")]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Validates raw bytes as received in OTLP protobuf.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
                let arr: [u8; $len] = bytes.try_into().map_err(|_| IdError::WrongLength {
                    kind: $kind,
                    expected: $len,
                    got: bytes.len(),
                })?;
                if arr == [0u8; $len] {
                    return Err(IdError::AllZero { kind: $kind });
                }
                Ok(Self(arr))
            }

            /// Parses the lowercase or uppercase hex form used by OTLP/JSON and our API.
            pub fn from_hex(s: &str) -> Result<Self, IdError> {
                let bytes = hex::decode(s).map_err(|_| IdError::NotHex {
                    kind: $kind,
                    value: s.chars().take(64).collect(),
                })?;
                Self::from_bytes(&bytes)
            }

            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::from_hex(&s).map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }
    };
}

id_type!(TraceId, 16, "trace id");
id_type!(SpanId, 8, "span id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_length_and_zero() {
        assert_eq!(
            TraceId::from_bytes(&[1; 15]),
            Err(IdError::WrongLength {
                kind: "trace id",
                expected: 16,
                got: 15
            })
        );
        assert_eq!(
            SpanId::from_bytes(&[0; 8]),
            Err(IdError::AllZero { kind: "span id" })
        );
        let id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
        assert_eq!(id.to_hex(), "00f067aa0ba902b7");
        assert!(TraceId::from_hex("zz").is_err());
    }
}
