-- %% A title
local x = tensor{1, 2}
print(x)
--> tensor(2)
--> [1, 2]

-- %% [markdown]
-- Some *text*
-- %%
1 + 1
--> 2
