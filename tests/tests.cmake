# tests/tests.cmake: every test is found by its file name, so adding a test is adding a file.
#   tests/c/test_*.c      C unit tests (tests/c/check.h harness), linked with the engine
#   tests/lua/test_*.lua  Lua tests run by the lunette binary (tests/lua/check.lua harness)
# Each test runs in its own scratch directory, build/test-tmp/<test>/ (also $LUNETTE_TEST_TMP),
# so tests running in parallel never see each other's files.
set(LUNETTE_TEST_ENV
  "LUNETTE_SOURCE=${CMAKE_SOURCE_DIR}"
  "LUNETTE_BUILD=${CMAKE_BINARY_DIR}"
  "LUNETTE_BIN=$<TARGET_FILE:lunette>"
  "OPENBLAS_NUM_THREADS=1"
  "NO_COLOR=1"
  "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
  "LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
  "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")

# lunette_test_env(NAME): gives a test the common environment, its own scratch directory
# as working directory, and its own REPL history file.
function(lunette_test_env name)
  set(dir ${CMAKE_BINARY_DIR}/test-tmp/${name})
  file(MAKE_DIRECTORY ${dir})
  set_tests_properties(${name} PROPERTIES WORKING_DIRECTORY ${dir} ENVIRONMENT
    "${LUNETTE_TEST_ENV};LUNETTE_TEST_TMP=${dir};LUNETTE_HISTORY=${dir}/history")
endfunction()

file(GLOB C_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/c/test_*.c)
foreach(src ${C_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/c)
  target_link_libraries(${name} PRIVATE lunette_core)
  add_test(NAME c_${name} COMMAND ${name})
  lunette_test_env(c_${name})
endforeach()

# The kernels, the layers on them, the optimizers' updates, the network's steps (fused
# updates) and the 2-thread steps once per instruction set (src/kernels/isa.h): the plain
# c_test_kernels, ... run the best path this processor has; these force each path. A path
# the processor lacks is SKIPPED (exit code 77).
foreach(isa avx512 avx2 generic)
  foreach(t test_kernels test_nn_layers test_nn_optim test_nn_net test_nn_parallel)
    add_test(NAME c_${t}_${isa} COMMAND ${t})
    lunette_test_env(c_${t}_${isa})
    set_property(TEST c_${t}_${isa} APPEND PROPERTY ENVIRONMENT LUNETTE_ISA=${isa})
    set_tests_properties(c_${t}_${isa} PROPERTIES SKIP_RETURN_CODE 77)
  endforeach()
endforeach()

# LUNETTE_ISA as a user meets it: lunette.machine() names the path in use (AVX2 where the
# processor has it), and an unknown value is reported on stderr, not ignored.
add_test(NAME isa_env COMMAND lunette -e
  "local m = lunette.machine() local want = (m.isa_best == 'generic') and 'generic' or 'AVX2+FMA' assert(m.isa == want, m.isa .. ' in use, expected ' .. want) print(m.isa, m.isa_best)")
lunette_test_env(isa_env)
set_property(TEST isa_env APPEND PROPERTY ENVIRONMENT LUNETTE_ISA=avx2)
add_test(NAME isa_env_unknown COMMAND sh -c
  "LUNETTE_ISA=sse4 '$<TARGET_FILE:lunette>' -e 'print(lunette.machine().isa)' 2>&1 | grep 'LUNETTE_ISA=sse4 is not one of avx512, avx2, generic'")
lunette_test_env(isa_env_unknown)

file(GLOB LUA_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/lua/test_*.lua)
foreach(src ${LUA_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME lua_${name} COMMAND lunette -e
    "package.path='${CMAKE_SOURCE_DIR}/tests/lua/?.lua;'..package.path; dofile[[${src}]]")
  lunette_test_env(lua_${name})
endforeach()

# tests/mpi/test_*.lua  lunette.dist: each runs as one process that starts `mpirun -np 2`
# (as root in CI: OMPI_ALLOW_RUN_AS_ROOT) under a time limit; SKIPPED without MPI or mpirun.
file(GLOB MPI_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/mpi/test_*.lua)
foreach(src ${MPI_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME mpi_${name} COMMAND lunette -e
    "package.path='${CMAKE_SOURCE_DIR}/tests/lua/?.lua;'..package.path; dofile[[${src}]]")
  lunette_test_env(mpi_${name})
  set_tests_properties(mpi_${name} PROPERTIES TIMEOUT 180 SKIP_REGULAR_EXPRESSION "SKIPPED")
  # Open MPI's progress thread keeps a few blocks until exit: tests/lsan.supp names it,
  # which needs the slow unwinder (8 frames are enough, and cost less)
  set_property(TEST mpi_${name} APPEND PROPERTY ENVIRONMENT
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0:malloc_context_size=8")
endforeach()

# The Lua C module from the stock interpreter (not in the sanitizer build: lua5.4
# itself is not instrumented, so the ASan runtime would have to be preloaded).
if(NOT LUNETTE_SANITIZE)
  find_program(LUA_INTERP lua5.4)
  if(LUA_INTERP)
    add_test(NAME module_require
             COMMAND ${LUA_INTERP} -e "package.cpath='${CMAKE_BINARY_DIR}/?.so;'..package.cpath; local L=require'lunette'; local r=L.tensor{{1,2},{3,4}}:matmul(L.tensor{{1},{1}}); assert(r:get(1,1)==3 and r:get(2,1)==7, tostring(r)); print(r)")
  endif()
endif()

# tests/repl/test_*.py  the REPL and notebooks driven through a pseudo-terminal (python3 pty)
find_program(PYTHON3_INTERP python3)
file(GLOB REPL_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/repl/test_*.py)
if(PYTHON3_INTERP)
  foreach(src ${REPL_TESTS})
    get_filename_component(name ${src} NAME_WE)
    add_test(NAME repl_${name} COMMAND ${PYTHON3_INTERP} ${src})
    lunette_test_env(repl_${name})
    set_tests_properties(repl_${name} PROPERTIES TIMEOUT 120)
  endforeach()
endif()

# The lesson notebooks (scripts/lessons/NN-*.lua), each checked with `lunette --check` in
# quick mode (LUNETTE_QUICK=1: small subsets, 1-2 epochs). `ctest -L lessons` runs them alone.
file(GLOB LESSONS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/scripts/lessons/[0-9][0-9]-*.lua)
foreach(src ${LESSONS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME lesson_${name} COMMAND lunette --check ${src})
  lunette_test_env(lesson_${name})
  set_tests_properties(lesson_${name} PROPERTIES TIMEOUT 300 LABELS lessons)
  set_property(TEST lesson_${name} APPEND PROPERTY ENVIRONMENT LUNETTE_QUICK=1)
endforeach()

# `cmake --install` into a scratch prefix: the installed program and module must find their
# Lua files and data in that prefix (not in this source tree).
set(INSTALL_PREFIX ${CMAKE_BINARY_DIR}/test-tmp/install_tree/prefix)
add_test(NAME install_tree COMMAND sh -c
  "rm -rf '${INSTALL_PREFIX}' && '${CMAKE_COMMAND}' --install '${CMAKE_BINARY_DIR}' --prefix '${INSTALL_PREFIX}' >/dev/null && '${INSTALL_PREFIX}/bin/lunette' -e \"assert(lunette.lua_dir == '${INSTALL_PREFIX}/share/lua/5.4', lunette.lua_dir) assert(package.searchpath('lunette.model', package.path):find('${INSTALL_PREFIX}', 1, true)) assert(io.open(lunette.share_dir .. '/lessons/01-convolution.lua')) print('installed copy uses', lunette.lua_dir)\"")
lunette_test_env(install_tree)
