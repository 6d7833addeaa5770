//! Bad input never panics: unreadable bytes are an error naming the problem; readable text that is not a reply
//! gives diagnostics.

use duban_ingest::{parse, IngestError, MAX_DOCUMENT_BYTES};

#[test]
fn empty_and_blank_files_are_errors() {
    assert!(matches!(parse(b"", "a.txt"), Err(IngestError::Empty)));
    assert!(matches!(parse(b" \n\t\r\n", "a.txt"), Err(IngestError::Empty)));
}

#[test]
fn binary_garbage_is_an_error() {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let error = parse(&garbage, "garbage.bin").unwrap_err();
    assert!(matches!(error, IngestError::Binary), "{error:?}");
    assert!(matches!(parse(b"\x7fELF\x02\x01\x01\x00\x00\x00", "a.out"), Err(IngestError::Binary)));
}

#[test]
fn oversized_input_is_refused_without_reading_it_as_a_reply() {
    let big = vec![b'a'; MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(parse(&big, "big.txt"), Err(IngestError::TooLarge { .. })));
}

#[test]
fn a_zip_that_is_not_a_word_document_is_an_error() {
    let error = parse(b"PK\x03\x04this is not really a zip", "a.docx").unwrap_err();
    assert!(matches!(error, IngestError::Docx(_)), "{error:?}");
}

#[test]
fn text_that_is_not_a_reply_gives_diagnostics_and_no_commitments() {
    let parsed = parse("今天天气很好，我们去公园散步。\n晚上看了一场电影。".as_bytes(), "diary.txt").unwrap();
    assert!(parsed.commitments.is_empty());
    let codes: Vec<&str> = parsed.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.contains(&"not_a_reply") && codes.contains(&"no_commitments"), "{codes:?}");
}

#[test]
fn invalid_bytes_inside_utf8_are_replaced_and_reported() {
    let mut bytes = "张三委员：\n您提出的《关于示例的提案》收悉，现答复如下：\n下一步，我局将加快建设示范平台。\n"
        .as_bytes()
        .to_vec();
    bytes.splice(10..10, [0xFF, 0xFE, 0xC3]);
    let parsed = parse(&bytes, "broken.txt").unwrap();
    assert!(parsed.diagnostics.iter().any(|d| d.code == "invalid_utf8"), "{:?}", parsed.diagnostics);
    assert_eq!(parsed.commitments.len(), 1);
}

#[test]
fn odd_but_valid_text_never_panics() {
    for text in [
        "下一步",
        "一是二是三是",
        "（一）（二）",
        "提出的《",
        "提出的",
        "第号",
        "2025年13月40日",
        "**",
        "|||",
        "。。。",
        "下一步，\n\n",
    ] {
        let _ = parse(text.as_bytes(), "odd.txt").unwrap();
    }
}
