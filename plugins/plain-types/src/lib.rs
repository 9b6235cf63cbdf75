//! `plain_types`: a plain WebAssembly component (it does not export `capsule:plugin`), built with
//! `wit-bindgen` alone. Capsule publishes each of its exported functions as a tool (issue #16); the
//! end-to-end tests (`tests/e2e/test_plain_components.py`) use it to check the WIT -> JSON mapping
//! with round trips of every type, the naming rules, errors, a trap and the functions Capsule must
//! skip. The WIT, with the doc comments, is `wit/plain-types.wit`.

wit_bindgen::generate!({
    path: "wit",
    world: "plain-types",
});

use exports::test::plain_types::{handles, lower, math, shapes, upper};
use shapes::{Color, Command, DivError, LookupError, Perms, Shape};

struct PlainTypes;

impl Guest for PlainTypes {
    fn echo_bool(v: bool) -> bool {
        v
    }
    fn echo_s8(v: i8) -> i8 {
        v
    }
    fn echo_s16(v: i16) -> i16 {
        v
    }
    fn echo_s32(v: i32) -> i32 {
        v
    }
    fn echo_s64(v: i64) -> i64 {
        v
    }
    fn echo_u8(v: u8) -> u8 {
        v
    }
    fn echo_u16(v: u16) -> u16 {
        v
    }
    fn echo_u32(v: u32) -> u32 {
        v
    }
    fn echo_u64(v: u64) -> u64 {
        v
    }
    fn echo_f32(v: f32) -> f32 {
        v
    }
    fn echo_f64(v: f64) -> f64 {
        v
    }
    fn divide(a: f64, b: f64) -> f64 {
        a / b
    }
    fn echo_char(v: char) -> char {
        v
    }
    fn echo_string(v: String) -> String {
        v
    }
    fn echo_bytes(v: Vec<u8>) -> Vec<u8> {
        v
    }
    fn echo_strings(v: Vec<String>) -> Vec<String> {
        v
    }
    fn echo_option(v: Option<String>) -> Option<String> {
        v
    }
    fn echo_option_list(v: Vec<Option<i32>>) -> Vec<Option<i32>> {
        v
    }
    fn echo_tuple(v: (String, u32, bool)) -> (String, u32, bool) {
        v
    }
    fn echo_results(v: Vec<Result<u32, String>>) -> Vec<Result<u32, String>> {
        v
    }
    fn echo_unit_results(v: Vec<Result<(), String>>) -> Vec<Result<(), String>> {
        v
    }

    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }
    fn add(a: i32, b: i32) -> i32 {
        a.wrapping_add(b)
    }
    fn pad(text: String, min_width: u32, fill_char: Option<char>) -> String {
        let missing = (min_width as usize).saturating_sub(text.chars().count());
        let fill = fill_char.unwrap_or(' ');
        std::iter::repeat_n(fill, missing)
            .chain(text.chars())
            .collect()
    }
    fn shout(text: String) -> Result<String, String> {
        if text.is_empty() {
            Err("nothing to shout: the text is empty".to_string())
        } else {
            Ok(format!("{}!", text.to_uppercase()))
        }
    }
    fn check_even(n: i32) -> Result<(), String> {
        if n % 2 == 0 {
            Ok(())
        } else {
            Err(format!("{n} is odd"))
        }
    }
    fn ping() {}
    fn crash(message: String) {
        panic!("{message}");
    }
    fn maybe_maybe(v: Option<Option<u32>>) -> bool {
        v.is_some()
    }
}

impl shapes::Guest for PlainTypes {
    fn echo_shape(v: Shape) -> Shape {
        v
    }
    fn echo_command(v: Command) -> Command {
        v
    }
    fn echo_color(v: Color) -> Color {
        v
    }
    fn echo_perms(v: Perms) -> Perms {
        v
    }
    fn find_color(name: String) -> Result<Color, LookupError> {
        match name.as_str() {
            "" => Err(LookupError::EmptyName),
            "red" => Ok(Color::Red),
            "green" => Ok(Color::Green),
            "dark-blue" => Ok(Color::DarkBlue),
            _ => Err(LookupError::NotFound),
        }
    }
    fn safe_divide(a: i32, b: i32) -> Result<i32, DivError> {
        a.checked_div(b).ok_or_else(|| DivError {
            dividend: a,
            reason: if b == 0 {
                "division by zero".to_string()
            } else {
                "overflow".to_string()
            },
        })
    }
}

impl math::Guest for PlainTypes {
    fn multiply(a: i64, b: i64) -> i64 {
        a.wrapping_mul(b)
    }
    fn mean(values: Vec<f64>) -> Option<f64> {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }
}

impl upper::Guest for PlainTypes {
    fn apply(text: String) -> String {
        text.to_uppercase()
    }
}

impl lower::Guest for PlainTypes {
    fn apply(text: String) -> String {
        text.to_lowercase()
    }
}

/// The `counter` resource of the `handles` interface.
struct Counter(u32);

impl handles::GuestCounter for Counter {
    fn new(start: u32) -> Self {
        Counter(start)
    }
    fn value(&self) -> u32 {
        self.0
    }
}

impl handles::Guest for PlainTypes {
    type Counter = Counter;
    fn counter_value(c: handles::CounterBorrow<'_>) -> u32 {
        c.get::<Counter>().0
    }
}

export!(PlainTypes);
