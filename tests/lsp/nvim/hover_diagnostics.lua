-- Drive `nntutor lsp` from a real Neovim (0.7 API), headless:
--   NNTUTOR_FILE=/path/x.py NNTUTOR_PYTHON=python nvim --headless --clean -c "luafile hover_diagnostics.lua"
-- Opens the file, attaches the server, hovers on `Dropout`, waits for diagnostics, and writes one
-- line `NNTUTOR_RESULT <json>` to stdout, then quits.
local result = { errors = {} }

local function finish()
  io.stdout:write("NNTUTOR_RESULT " .. vim.fn.json_encode(result) .. "\n")
  io.stdout:flush()
  vim.cmd("qa!")
end

local ok, err = pcall(function()
  local path = os.getenv("NNTUTOR_FILE")
  local python = os.getenv("NNTUTOR_PYTHON") or "python3"
  vim.cmd("edit " .. vim.fn.fnameescape(path))
  local buf = vim.api.nvim_get_current_buf()

  local client_id = vim.lsp.start_client({
    name = "nntutor",
    cmd = { python, "-m", "nntutor", "lsp" },
    root_dir = vim.fn.fnamemodify(path, ":h"),
    on_error = function(code, e) table.insert(result.errors, tostring(code) .. ": " .. tostring(e)) end,
  })
  result.client_id = client_id
  vim.lsp.buf_attach_client(buf, client_id)
  result.initialized = vim.wait(20000, function()
    local c = vim.lsp.get_client_by_id(client_id)
    return c ~= nil and c.initialized == true
  end, 20)

  -- Hover on `Dropout` (0-based line, UTF-16 character; the file is ASCII up to there).
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  for i, line in ipairs(lines) do
    local col = line:find("Dropout", 1, true)
    if col then
      result.hover_position = { line = i - 1, character = col }
      break
    end
  end
  local params = { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = result.hover_position }
  local responses = vim.lsp.buf_request_sync(buf, "textDocument/hover", params, 20000)
  for _, r in pairs(responses or {}) do
    if r.err then table.insert(result.errors, vim.inspect(r.err)) end
    if r.result and r.result.contents then
      result.hover = r.result.contents.value or r.result.contents
      result.hover_range = r.result.range
    end
  end

  -- Diagnostics arrive pushed (textDocument/publishDiagnostics) and land in vim.diagnostic.
  vim.wait(20000, function() return #vim.diagnostic.get(buf) > 0 end, 50)
  result.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local lsp_d = (d.user_data and d.user_data.lsp) or {}
    table.insert(result.diagnostics, {
      lnum = d.lnum, col = d.col, end_col = d.end_col, severity = d.severity,
      message = d.message, source = d.source, code = d.code or lsp_d.code,
    })
  end
  result.nvim_version = tostring(vim.version().major) .. "." .. tostring(vim.version().minor)
end)
if not ok then table.insert(result.errors, tostring(err)) end
finish()
