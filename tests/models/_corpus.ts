/**
 * Texts that stress a tokenizer: Unicode scripts, emoji sequences, whitespace
 * runs, contractions, numbers, code and URLs, plus a few kB of mixed prose.
 * It holds no U+FEFF or U+0085, the two characters on which JavaScript's `\s`
 * and Oniguruma's differ (gpt-3-encoder uses JavaScript's).
 *
 * @module
 */

/** Short texts, one trait each. */
export const SHORT_TEXTS: readonly string[] = [
  "Hello world",
  " Hello world",
  "Hello  world   with    spaces",
  "trailing space ",
  "trailing spaces   ",
  "   leading spaces",
  "tabs\tand\t\ttabs\t",
  "line one\nline two\n\n\nline five\r\nwindows\r\n",
  "",
  " ",
  "\n",
  "\t\t",
  "x",
  "I'm sure you'll see it's what we'd've done; they're here and we've left.",
  "I'M SURE YOU'LL SEE IT'S WHAT WE'D DONE; THEY'RE HERE AND WE'VE LEFT.",
  "'s 't 're 've 'm 'll 'd 'S 'T 'RE 'VE 'M 'LL 'D",
  "don't won't can't shouldn't y'all o'clock rock'n'roll",
  "Curly quotes: it’s ‘fine’, “really” — isn’t it? They’re ‘here’.",
  "Café, naïve, résumé, Ångström, façade, São Paulo, Zürich, Øresund, Łódź",
  "e\u0301 (combining acute) vs é (precomposed); ﬁ ligature; Ｆｕｌｌｗｉｄｔｈ",
  "日本語のテキストです。中文文本测试，繁體中文。한국어 텍스트입니다.",
  "Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю.",
  "مرحبا بالعالم. هذا نص عربي للاختبار، مع أرقام ١٢٣٤٥.",
  "Ελληνικά κείμενα, עברית וגם हिन्दी पाठ और ภาษาไทย",
  "Emoji: 😀😃😄 👍🏽 ❤️ 🔥🔥🔥 🤗",
  "Family 👨‍👩‍👧‍👦, couple 👩‍❤️‍👨, flags 🇯🇵🇺🇸🇫🇷🇩🇪, pride 🏳️‍🌈, pirate 🏴‍☠️",
  "Numbers: 0 1 12 123 1234 12345 1234567890 3.14159 -42 1e-10 1,000,000 2024-06-01",
  "Phone +1 (555) 123-4567, price $19.99, 50% off, №7, ½ cup, 10³ m²",
  "function add(a: number, b: number): number {\n  return a + b;\n}\n",
  "export const x = [1, 2, 3].map((v) => v * 2); // doubled\n",
  "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
  "class Foo:\n\tdef __init__(self):\n\t\tself.x = {'a': [1, 2, 3]}\n",
  "if (a&&b||!c) { x+=1; y-=2; } else { z**=3; }",
  "https://example.com/path/to/page?query=value&other=123#anchor",
  "email someone@example.org or visit http://localhost:8080/api/v1/users?id=42",
  "Special chars: !@#$%^&*()_+-=[]{}|;':\",./<>?`~",
  "Mixed    whitespace \t \n \t\n  end",
  "a".repeat(80),
  "-".repeat(80),
  " ".repeat(70),
  "=".repeat(40) + "\n" + "#".repeat(40),
  "ThisIsAVeryLongCamelCaseIdentifierThatGoesOnAndOnWithoutAnySpacesAtAll",
  "snake_case_identifier_with_many_parts and SCREAMING_CASE_CONSTANT",
  "Zero\u200Bwidth\u200Cnon\u200Djoiners and non\u00A0breaking\u2003em\u3000spaces",
  "Math: ∀x∈ℝ, x² ≥ 0; ∑ᵢ aᵢ = ∫ f(x) dx ≈ π; α+β=γ",
  '<html><body><p class="x">Hi &amp; bye</p></body></html>',
  '{"key": "value", "list": [1, 2, null, true], "nested": {"a": -1.5e3}}',
  "ends with many newlines\n\n\n\n",
  "   \n   \n",
  "Ünïcödé ÀÉÎÕÜ àéîõü ÿ Ÿ ß ẞ",
  "base64: SGVsbG8gV29ybGQhIFRoaXMgaXMgYSB0ZXN0Lg==",
  "hex 0xDEADBEEF, binary 0b1010, uuid 123e4567-e89b-12d3-a456-426614174000",
];

const PROSE = [
  "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs!",
  "In 1969, Apollo 11 landed on the Moon; Neil Armstrong said: \"That's one small step for " +
  '[a] man, one giant leap for mankind."',
  "Tokenizers split text into pieces — words, sub-words or bytes — and map each to an id. " +
  "Byte-level BPE never meets an unknown character: every byte has a token.",
  "Qu'est-ce que c'est ? C'est l'été à Montréal, où il fait 30 °C. Ça va très bien, merci !",
  "Der Weg zur Hölle ist mit guten Vorsätzen gepflastert; Größe, Straße, Übermaß.",
  "El niño comió piña y jalapeños en la montaña; ¿dónde está la biblioteca? ¡Olé!",
  "東京は日本の首都です。人口は約1400万人で、世界最大の都市圏の一つです。",
  "Москва — столица России, крупнейший по численности населения город страны.",
  "    indented line with four spaces\n\tand one with a tab\n        and eight spaces",
  "TODO: fix bug #1234 (see https://github.com/example/repo/issues/1234) ASAP!!!",
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor " +
  "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam.",
  "She said, 'It's 5 o'clock somewhere,' and he replied, \"Isn't it always?\"",
  "Prices rose 3.5% in Q2 2023, from $1,234.56 to $1,277.77 — a 43.21 USD jump.",
  "🙂 Texting style lol!!! omg 😂😂 #blessed @friend ...what?? ¯\\_(ツ)_/¯",
];

/** A few kB of mixed text: the prose and the short texts, interleaved. */
export const MIXED_TEXT: string = (() => {
  const parts: string[] = [];
  for (let round = 0; round < 3; round++) {
    PROSE.forEach((p, i) => {
      parts.push(p);
      parts.push(SHORT_TEXTS[(i * 7 + round * 5) % SHORT_TEXTS.length]);
    });
  }
  return parts.join("\n\n");
})();
