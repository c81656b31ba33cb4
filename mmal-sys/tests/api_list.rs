//! The one list behind the function table: every entry's C symbol is
//! libmmal's name for its field, and the table and the symbol list are the
//! list's, in its order.

use core::mem::size_of;

use mmal_sys::{for_each_api, Api, API_SYMBOLS};

macro_rules! entries {
    ($($(#[$doc:meta])* $symbol:ident => $field:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {
        [$((stringify!($symbol), stringify!($field), [$(stringify!($arg)),*].len())),*]
    };
}

#[test]
fn symbols_are_the_fields_with_the_mmal_prefix() {
    let entries = for_each_api!(entries);
    assert_eq!(entries.len(), 22);
    for (symbol, field, _) in entries {
        assert_eq!(symbol, format!("mmal_{field}"));
    }
    let listed: Vec<&str> = entries.iter().map(|e| e.0).collect();
    assert_eq!(listed, API_SYMBOLS);
    assert_eq!(entries.len() * size_of::<usize>(), size_of::<Api>());
}
