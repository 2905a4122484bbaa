//! Deterministic synthetic API traffic for benchmarks, and the small random
//! generator the tests use for chunkings and fuzz input.

/// A small xorshift generator: the same bytes on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn step(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.step() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "order",
    "shipped",
    "pending",
    "invoice",
    "customer",
    "widget",
    "premium",
    "account",
    "update",
    "status",
    "delivery",
    "warehouse",
    "priority",
    "standard",
    "express",
    "returned",
    "refund",
    "catalog",
    "item",
    "review",
];
const NAMES: &[&str] = &["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov"];
const SENSITIVE: &[&str] = &[
    "\"card_number\": \"4532 2766 4457 7020\"",
    "\"email\": \"grace.hopper@example.com\"",
    "\"ssn\": \"531-21-7351\"",
    "\"iban\": \"DE89370400440532013000\"",
    "\"api_key\": \"ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5\"",
    "\"phone\": \"+1 415 555 0100\"",
    "\"client_ip\": \"58.74.121.78\"",
];

/// About `size` bytes of JSON records; with `sensitive_one_in: Some(n)`,
/// about one record in `n` carries a sensitive value.
pub fn json_traffic(size: usize, sensitive_one_in: Option<u64>) -> Vec<u8> {
    let mut rng = Rng::new(42);
    let mut out = String::with_capacity(size + 1024);
    out.push('[');
    let mut i = 0u64;
    while out.len() < size {
        let extra = if sensitive_one_in.is_some_and(|n| rng.below(n) == 0) {
            format!(", {}", rng.pick(SENSITIVE))
        } else {
            String::new()
        };
        out.push_str(&format!(
            concat!(
                "{{\"id\": {}, \"uuid\": \"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}\", \"name\": \"{}\", ",
                "\"created_at\": \"2025-{:02}-{:02}T{:02}:{:02}:{:02}Z\", \"amount\": {}.{:02}, \"quantity\": {}, ",
                "\"status\": \"{}\", \"tags\": [\"{}\", \"{}\"], \"description\": \"{} {} {} {} {}\"{}}},\n"
            ),
            100000 + i,
            rng.step() as u32,
            rng.below(1 << 16),
            rng.below(1 << 12),
            rng.below(1 << 12),
            rng.step() & 0xffff_ffff_ffff,
            rng.pick(NAMES),
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.below(60),
            rng.below(1000),
            rng.below(100),
            rng.below(50),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(WORDS),
            rng.pick(WORDS),
            extra
        ));
        i += 1;
    }
    out.push_str("{}]");
    out.into_bytes()
}

/// Digit-heavy text that looks like cards, phones and ids but mostly is not.
pub fn adversarial(size: usize) -> Vec<u8> {
    let mut rng = Rng::new(7);
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        let run = 1 + rng.below(20);
        for _ in 0..run {
            out.push(b'0' + rng.below(10) as u8);
        }
        out.push(match rng.below(4) {
            0 => b'-',
            1 => b'.',
            _ => b' ',
        });
    }
    out
}
