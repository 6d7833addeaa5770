//! The command line as a client of `duban serve` (`--server URL`, `DUBAN_SERVER`): the same commands, sent to the
//! server's API as the logged-in account (`duban login`), their answers printed as a local store's would be — the
//! JSON the API returns is `--json`'s, and the human forms are rendered from it by the same code as locally.
//!
//! Plain HTTP/1.1 over a TCP connection, written here: the API is a handful of JSON calls, and an HTTP client crate
//! with TLS would double the build. A server behind a TLS reverse proxy is reached from the office's own network
//! (or through an SSH tunnel) at its plain address; `https://` is refused with that advice.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::toolkit::UserError;

/// A server and the token this user holds for it.
#[derive(Clone, Debug)]
pub struct Remote {
    /// `host:port`, as given.
    address: String,
    /// The URL as given, trimmed of a final `/` (names the server in messages and the token file).
    pub url: String,
    token: Option<String>,
}

/// An answer the server refused, with its status and Chinese message.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub message: String,
}

impl Remote {
    /// The server at `url` (`http://host:port`), with the token `duban login` saved for it, if any.
    pub fn new(url: &str) -> anyhow::Result<Remote> {
        let url = url.trim().trim_end_matches('/').to_string();
        if url.starts_with("https://") {
            return Err(UserError(format!(
                "服务器地址 {url} 使用 https：命令行只直接连接 duban serve 的 http 地址（在内网或经 SSH 隧道访问）；\
                 浏览器可经 TLS 反向代理访问"
            ))
            .into());
        }
        let address = url
            .strip_prefix("http://")
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .ok_or_else(|| {
                UserError(format!("服务器地址“{url}”无效：应写成 http://主机:端口（例如 http://127.0.0.1:8080）"))
            })?
            .to_string();
        let token = Tokens::load()?.token(&url);
        Ok(Remote { address, url, token })
    }

    /// Calls `method path` with a JSON body; the answer's JSON, or the server's refusal as a user error.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        Ok(self.call_text(method, path, body)?.0)
    }

    /// As [`Remote::call`], with the answer's text too (to print as it came).
    pub fn call_text(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<(Value, Vec<u8>)> {
        match self.exchange(method, path, body)? {
            (status, value, text) if status < 300 => Ok((value, text)),
            (status, value, _) => {
                let refused = Refused {
                    status,
                    message: value["error"].as_str().unwrap_or("服务器拒绝了请求").to_string(),
                };
                Err(self.refusal(refused))
            }
        }
    }

    /// A refusal as the user reads it: 401 says how to log in.
    fn refusal(&self, refused: Refused) -> anyhow::Error {
        match refused.status {
            401 if self.token.is_none() => {
                UserError(format!("尚未登录服务器 {}：请先运行 `duban login {} 账户名`", self.url, self.url)).into()
            }
            401 => UserError(format!(
                "服务器 {} 不认这次登录（{}）：请重新运行 `duban login {} 账户名`",
                self.url, refused.message, self.url
            ))
            .into(),
            500.. => anyhow::anyhow!("服务器 {} 出错：{}", self.url, refused.message),
            _ => UserError(refused.message).into(),
        }
    }

    fn exchange(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<(u16, Value, Vec<u8>)> {
        let unreachable = |error: std::io::Error| {
            UserError(format!("连不上服务器 {}：{error}（服务器是否在运行？地址是否正确？）", self.url))
        };
        let mut stream = TcpStream::connect(&self.address).map_err(unreachable)?;
        stream.set_read_timeout(Some(Duration::from_secs(600))).map_err(unreachable)?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.address,
            body.len()
        );
        if let Some(token) = &self.token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        stream.write_all(request.as_bytes()).map_err(unreachable)?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).map_err(unreachable)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("服务器 {} 的回答不是 HTTP：{}", self.url, line.trim()))?;
        let mut length: Option<usize> = None;
        loop {
            line.clear();
            if reader.read_line(&mut line).map_err(unreachable)? == 0 {
                break;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok();
                }
            }
        }
        let mut bytes = Vec::new();
        match length {
            Some(length) => {
                bytes.resize(length, 0);
                reader.read_exact(&mut bytes).map_err(unreachable)?;
            }
            None => {
                reader.read_to_end(&mut bytes).map_err(unreachable)?;
            }
        }
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|error| anyhow::anyhow!("服务器 {} 的回答不是 JSON：{error}", self.url))?
        };
        Ok((status, value, bytes))
    }

    /// Logs in as `name`: the token is kept in the user's config folder (mode 0600) for this server.
    pub fn login(&mut self, name: &str, password: &str) -> anyhow::Result<Value> {
        self.token = None;
        let answer =
            self.call("POST", "/api/login", Some(&serde_json::json!({ "username": name, "password": password })))?;
        let token = answer["token"].as_str().ok_or_else(|| anyhow::anyhow!("服务器 {} 没有给出令牌", self.url))?;
        let mut tokens = Tokens::load()?;
        tokens.set(&self.url, Some(token));
        tokens.save()?;
        self.token = Some(token.to_string());
        Ok(answer["user"].clone())
    }

    /// Ends the session on the server (if it still knows it) and forgets the token here.
    pub fn logout(&mut self) -> anyhow::Result<bool> {
        let had = self.token.is_some();
        if had {
            // A session the server has already forgotten is as good as ended.
            let _ = self.call("POST", "/api/logout", None);
        }
        let mut tokens = Tokens::load()?;
        tokens.set(&self.url, None);
        tokens.save()?;
        self.token = None;
        Ok(had)
    }
}

/// Percent-encodes a query value or path segment, as the server's own links do.
pub use duban_server::percent_encode as encode;

/// The tokens `duban login` saved, by server URL: `duban/servers.json` in the user's config folder
/// (`$XDG_CONFIG_HOME`, else `~/.config`), readable by the user alone.
struct Tokens {
    path: PathBuf,
    by_url: serde_json::Map<String, Value>,
}

impl Tokens {
    fn folder() -> anyhow::Result<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|value| !value.is_empty())
                    .map(|home| PathBuf::from(home).join(".config"))
            })
            .ok_or_else(|| {
                UserError("找不到用户配置目录（HOME 与 XDG_CONFIG_HOME 均未设置），无法保存登录令牌".into())
            })?;
        Ok(base.join("duban"))
    }

    fn load() -> anyhow::Result<Tokens> {
        let path = Tokens::folder()?.join("servers.json");
        let by_url = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice::<Value>(&bytes).ok().and_then(|value| value.as_object().cloned()).ok_or_else(
                    || UserError(format!("登录令牌文件 {} 已损坏：删除它后重新 `duban login`", path.display())),
                )?
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
            Err(error) => return Err(UserError(format!("读不了登录令牌文件 {}：{error}", path.display())).into()),
        };
        Ok(Tokens { path, by_url })
    }

    fn token(&self, url: &str) -> Option<String> {
        self.by_url.get(url).and_then(|entry| entry["token"].as_str()).map(str::to_string)
    }

    fn set(&mut self, url: &str, token: Option<&str>) {
        match token {
            Some(token) => {
                self.by_url.insert(url.to_string(), serde_json::json!({ "token": token }));
            }
            None => {
                self.by_url.remove(url);
            }
        }
    }

    /// Written to a file of mode 0600 beside it, then renamed over it: never readable by others, never half written.
    fn save(&self) -> anyhow::Result<()> {
        let failed =
            |error: std::io::Error| UserError(format!("保存不了登录令牌文件 {}：{error}", self.path.display()));
        let folder = self.path.parent().map(PathBuf::from).unwrap_or_default();
        std::fs::create_dir_all(&folder).map_err(failed)?;
        let partial = folder.join("servers.json.partial");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&partial).map_err(failed)?;
        #[cfg(unix)]
        std::fs::set_permissions(&partial, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(failed)?;
        file.write_all(serde_json::to_string_pretty(&Value::Object(self.by_url.clone()))?.as_bytes())
            .map_err(failed)?;
        file.sync_all().map_err(failed)?;
        std::fs::rename(&partial, &self.path).map_err(failed)?;
        Ok(())
    }
}
