//! `unidir proxy`: the Buildkite API passthrough (token injected, path validated).

use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;
use unidir_proxy::{GraphqlRequest, Method, ProxyRequest, ProxyResponse};

use crate::cli::{Format, ProxyArgs};
use crate::connect::Connection;
use crate::exit::{CliResult, Failure, code};
use crate::input;
use crate::output::{self, Out};

/// `@file` reads a file (at most 16 MiB); anything else is the value itself.
fn inline_or_file(raw: &str) -> CliResult<String> {
    match raw.strip_prefix('@') {
        Some(path) => input::read_capped(std::path::Path::new(path)),
        None => Ok(raw.to_owned()),
    }
}

fn json_arg(raw: &str, what: &str) -> CliResult<Value> {
    let text = inline_or_file(raw)?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(format!("{what} is not valid JSON: {e}")))
}

fn pair(raw: &str, separator: char, what: &str) -> CliResult<(String, String)> {
    raw.split_once(separator)
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "{what} {raw:?} must look like NAME{separator}VALUE"
            ))
        })
}

#[derive(Serialize)]
struct Printed<'a> {
    status: u16,
    headers: &'a [(String, String)],
    body: Value,
}

/// Exit code of a non-2xx answer.
fn status_code(status: u16) -> u8 {
    match status {
        200..=399 => 0,
        401 => code::UNAUTHENTICATED,
        403 => code::PERMISSION,
        404 => code::NOT_FOUND,
        429 => code::RATE_LIMITED,
        500.. => code::UPSTREAM,
        _ => code::USAGE,
    }
}

/// `unidir proxy METHOD PATH` or `unidir proxy --graphql QUERY`.
pub(crate) async fn proxy(conn: &Connection, out: &mut Out, args: &ProxyArgs) -> CliResult {
    let proxy = conn.proxy()?;
    let response = match &args.graphql {
        Some(document) => {
            let mut request = GraphqlRequest::new(inline_or_file(document)?);
            if let Some(vars) = &args.variables {
                request = request.with_variables(json_arg(vars, "--variables")?);
            }
            for header in &args.header {
                let (name, value) = pair(header, ':', "--header")?;
                request = request.with_header(name, value);
            }
            proxy.graphql(request).await?
        }
        None => {
            let (Some(method), Some(path)) = (&args.method, &args.path) else {
                return Err(Failure::Usage(
                    "give METHOD and PATH, or --graphql QUERY".to_owned(),
                ));
            };
            let mut request = ProxyRequest::new(Method::from_str(method.trim())?, path.trim());
            for query in &args.query {
                let (name, value) = pair(query, '=', "--query")?;
                request = request.with_query(name, value);
            }
            for header in &args.header {
                let (name, value) = pair(header, ':', "--header")?;
                request = request.with_header(name, value);
            }
            if let Some(data) = &args.data {
                request = request.with_json(&json_arg(data, "--data")?);
            }
            proxy.send(request).await?
        }
    };
    print(out, &response)?;
    match status_code(response.status) {
        0 => Ok(()),
        code => {
            out.flush()?;
            if response.status == 429
                && let Some(secs) = response
                    .header("retry-after")
                    .or(response.header("ratelimit-reset"))
            {
                output::note(format!("rate limited; retry after {secs} s"));
            }
            Err(Failure::Reported(code))
        }
    }
}

fn print(out: &mut Out, response: &ProxyResponse) -> CliResult {
    let body = response.json().ok();
    match out.format {
        Format::Json | Format::Ndjson => {
            let printed = Printed {
                status: response.status,
                headers: &response.headers,
                body: body.unwrap_or_else(|| Value::String(response.text())),
            };
            if out.format == Format::Json {
                out.json(&printed)?;
            } else {
                out.ndjson(&printed)?;
            }
        }
        Format::Table => {
            output::note(format!("HTTP {}", response.status));
            match body {
                Some(Value::Null) => {}
                Some(json) => out.json(&json)?,
                // Line by line: each line is escaped, the line breaks stay readable.
                None => {
                    for line in response.text().lines() {
                        out.line(line)?;
                    }
                }
            }
        }
    }
    Ok(())
}
