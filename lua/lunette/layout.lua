-- lunette/layout.lua: text tables that fit a width (model summaries). The preferred
-- layout is Keras's boxed table; when it is wider than the terminal the columns shrink
-- to their contents, and when even that does not fit each row is stacked: its first cell
-- on one line, the other cells indented on the next.
local M = {}

local function dwidth(s) return utf8.len(s) or #s end
local function pad(s, w, right)
  local n = w - dwidth(s)
  if n <= 0 then return s end
  return right and (string.rep(" ", n) .. s) or (s .. string.rep(" ", n))
end

-- M.table(headers, rows, opts) → list of lines. opts: widths (preferred column widths,
-- each including one space either side), right (per column: align right), ascii,
-- width (the room, default 80). Each cell is padded, never cut.
function M.table(headers, rows, opts)
  local n, room = #headers, opts.width or 80
  local right = opts.right or {}
  local w, need = {}, {}
  for i = 1, n do
    need[i] = dwidth(headers[i]) + 2
    for _, r in ipairs(rows) do need[i] = math.max(need[i], dwidth(r[i]) + 2) end
    w[i] = math.max(opts.widths and opts.widths[i] or 0, need[i])
  end
  local borders = opts.ascii and 0 or n + 1
  local function total(t) local s = borders for i = 1, n do s = s + t[i] end return s end
  while total(w) > room - 1 do                  -- take a column from the one with most slack
    local k, slack = nil, 0
    for i = 1, n do if w[i] - need[i] > slack then k, slack = i, w[i] - need[i] end end
    if not k then break end
    w[k] = w[k] - 1
  end
  local out = {}
  local function cell(s, i) return " " .. pad(s, w[i] - 2, right[i]) .. " " end
  local function row(r, sep, l, rr)
    local parts = {}
    for i = 1, n do parts[i] = cell(r[i], i) end
    return (l or "") .. table.concat(parts, sep or "") .. (rr or "")
  end
  if total(w) <= room - 1 then
    local tw = total(w) - borders
    if opts.ascii then
      out[#out + 1] = string.rep("_", tw)
      out[#out + 1] = row(headers)
      out[#out + 1] = string.rep("=", tw)
      for i, r in ipairs(rows) do
        out[#out + 1] = row(r)
        out[#out + 1] = string.rep(i < #rows and "_" or "=", tw)
      end
    else
      local function rule(l, m, rr, h)
        local parts = {}
        for i = 1, n do parts[i] = string.rep(h, w[i]) end
        return l .. table.concat(parts, m) .. rr
      end
      out[#out + 1] = rule("┏", "┳", "┓", "━")
      out[#out + 1] = row(headers, "┃", "┃", "┃")
      out[#out + 1] = rule("┡", "╇", "┩", "━")
      for i, r in ipairs(rows) do
        out[#out + 1] = row(r, "│", "│", "│")
        if i < #rows then out[#out + 1] = rule("├", "┼", "┤", "─") end
      end
      out[#out + 1] = rule("└", "┴", "┘", "─")
    end
    return out
  end
  -- stacked: "first cell" then "    cell2  cell3 ..." with the last cell right-aligned
  local tw = math.max(room - 1, 20)
  local function stacked(r)
    local first = r[1]
    local rest = {}
    for i = 2, n - 1 do rest[#rest + 1] = r[i] end
    local left = "    " .. table.concat(rest, "  ")
    local last = n > 1 and r[n] or ""
    local gap = tw - dwidth(left) - dwidth(last)
    if gap < 2 then return { first, left, "    " .. last } end
    return { first, left .. string.rep(" ", gap) .. last }
  end
  local thin, thick = opts.ascii and "_" or "─", opts.ascii and "=" or "━"
  out[#out + 1] = string.rep(thin, tw)
  for _, l in ipairs(stacked(headers)) do out[#out + 1] = l end
  out[#out + 1] = string.rep(thick, tw)
  for i, r in ipairs(rows) do
    for _, l in ipairs(stacked(r)) do out[#out + 1] = l end
    out[#out + 1] = string.rep(i < #rows and thin or thick, tw)
  end
  return out
end

return M
