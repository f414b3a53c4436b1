-- :EscapeLspInstall: the plugin installs its own server, from the escape-lsp checkout it lives in,
-- into a venv it manages under stdpath('data'). Nothing goes on PATH; nothing else is touched.
local M = {}

local is_windows = vim.fn.has('win32') == 1

--- The venv the plugin manages.
function M.venv()
  return vim.fs.joinpath(vim.fn.stdpath('data'), 'escape-lsp', 'venv')
end

--- The server executable in that venv (it may not exist yet).
function M.server()
  if is_windows then
    return vim.fs.joinpath(M.venv(), 'Scripts', 'escape-lsp.exe')
  end
  return vim.fs.joinpath(M.venv(), 'bin', 'escape-lsp')
end

local function venv_python()
  if is_windows then
    return vim.fs.joinpath(M.venv(), 'Scripts', 'python.exe')
  end
  return vim.fs.joinpath(M.venv(), 'bin', 'python')
end

--- The escape-lsp checkout this plugin is part of (editors/nvim/lua/escape_lsp/install.lua).
function M.checkout()
  local here = debug.getinfo(1, 'S').source:gsub('^@', '')
  local root = vim.fs.normalize(vim.fn.fnamemodify(here, ':p:h:h:h:h:h'))
  if vim.fn.filereadable(vim.fs.joinpath(root, 'pyproject.toml')) == 1 then
    return root
  end
  return nil
end

--- The exact command that installs the server, for messages (`:EscapeLspInstall` runs it).
function M.fix_hint()
  return ':EscapeLspInstall  (installs this checkout\'s server into ' .. M.venv() .. ')'
end

--- Interpreters tried for creating the venv, in order.
M.python_candidates = { 'python3', 'python', 'python3.14', 'python3.13', 'python3.12', 'python3.11' }

local VERSION_PROBE = 'import sys; print("%d.%d" % sys.version_info[:2])'

--- "3.12" for an interpreter that runs, else nil.
function M.python_version(python)
  local ok, job = pcall(vim.system, { python, '-c', VERSION_PROBE }, { text = true })
  if not ok then
    return nil
  end
  local done = job:wait(10000)
  if done.code ~= 0 then
    return nil
  end
  return vim.trim(done.stdout or '')
end

local function supported(version)
  local major, minor = (version or ''):match('^(%d+)%.(%d+)$')
  return major ~= nil and (tonumber(major) > 3 or (tonumber(major) == 3 and tonumber(minor) >= 11))
end

--- The first Python 3.11+ found: `python` if given, else the candidates on PATH.
--- @return string? python, string? error
function M.find_python(python)
  local tried = {}
  for _, name in ipairs(python and { python } or M.python_candidates) do
    local path = vim.fn.exepath(name)
    if path ~= '' then
      local version = M.python_version(path)
      if supported(version) then
        return path
      end
      table.insert(tried, ('%s (%s)'):format(path, version or 'does not run'))
    elseif python then
      table.insert(tried, name .. ' (not found)')
    end
  end
  return nil, 'escape-lsp needs Python 3.11 or newer to install its server; found '
    .. (#tried > 0 and table.concat(tried, ', ') or 'none on PATH')
    .. '. Install one, then run :EscapeLspInstall (or :EscapeLspInstall /path/to/python3.11).'
end

--- The steps: venv (kept when it still runs), then the checkout's package and its dependencies.
local function steps(python, root)
  local list = {}
  if not M.python_version(venv_python()) then
    table.insert(list, { python, '-m', 'venv', '--clear', M.venv() })
  end
  table.insert(list, {
    venv_python(), '-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '--upgrade', root,
  })
  table.insert(list, { M.server(), '--version' })
  return list
end

--- Install (or update) the server. `opts.python`: the interpreter for the venv; `opts.on_done`:
--- called with (ok, message). Returns a job table whose `done` turns true once the outcome has
--- been reported and `on_done` has run.
function M.run(opts)
  opts = opts or {}
  local job = { done = false, ok = false, message = nil }
  local function finish(ok, message)
    vim.schedule(function()
      vim.notify(message, ok and vim.log.levels.INFO or vim.log.levels.ERROR)
      if opts.on_done then
        opts.on_done(ok, message)
      end
      job.done, job.ok, job.message = true, ok, message
    end)
  end

  local root = M.checkout()
  if not root then
    finish(false, 'escape-lsp: this copy of the plugin is not inside an escape-lsp checkout '
      .. '(no pyproject.toml three directories up), so it cannot install the server. Set '
      .. "require('escape_lsp').setup({ cmd = { '/path/to/escape-lsp', 'serve' } }) instead.")
    return job
  end
  local python, err = M.find_python(opts.python)
  if not python then
    finish(false, err)
    return job
  end
  local todo = steps(python, root)
  vim.notify('escape-lsp: installing the server from ' .. root .. ' into ' .. M.venv() .. ' …')

  local function step(i)
    if i > #todo then
      return
    end
    local cmd = todo[i]
    local ok, spawn_err = pcall(vim.system, cmd, { text = true }, function(res)
      if res.code ~= 0 then
        local output = vim.trim((res.stderr or '') .. '\n' .. (res.stdout or ''))
        local hint = ''
        if cmd[2] == '-m' and cmd[3] == 'venv' then
          hint = '\nOn Debian/Ubuntu the venv module is a separate package: sudo apt install python3-venv'
        end
        finish(false, ('escape-lsp: install failed: `%s` exited with %d:\n%s%s\nFix that, then run :EscapeLspInstall again.')
          :format(table.concat(cmd, ' '), res.code, output, hint))
      elseif i == #todo then
        finish(true, ('escape-lsp: installed %s in %s'):format(vim.trim(res.stdout or ''), M.venv()))
      else
        step(i + 1)
      end
    end)
    if not ok then
      finish(false, 'escape-lsp: install failed: ' .. tostring(spawn_err))
    end
  end
  step(1)
  return job
end

--- Wait for a job: yields inside a coroutine (lazy.nvim's build), else vim.wait.
function M.wait(job, timeout_ms)
  local deadline = vim.uv.now() + (timeout_ms or 600000)
  while not job.done and vim.uv.now() < deadline do
    if coroutine.isyieldable() then
      coroutine.yield('installing the escape-lsp server …')
    else
      vim.wait(200, function() return job.done end, 50)
    end
  end
  return job.done and job.ok
end

return M
