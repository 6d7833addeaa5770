//! Bytes that cannot be read as a document at all.

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("文件为空")]
    Empty,
    #[error("文件过大（{size} 字节，上限 {max} 字节），不像一份答复")]
    TooLarge { size: usize, max: usize },
    #[error("无法识别的二进制内容：不是文本、网页或 Word 文档")]
    Binary,
    #[error("无法读取 Word 文档：{0}")]
    Docx(String),
}
