# Runs `rnn run` under valgrind memcheck on a valid input and on a malformed
# one; fails on any valgrind error or leak, or if the exit codes are wrong.
# -D VALGRIND, RNN, DATA (tests/data), WORK (scratch folder)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(case ${DATA}/parity/t08_varlen_bidir_layers2_batch_first)
set(vg ${VALGRIND} --suppressions=${CMAKE_CURRENT_LIST_DIR}/valgrind.supp --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --quiet)

execute_process(COMMAND ${vg} ${RNN} run --model ${case}/model.safetensors --input ${case}/x.npy
                        --h0 ${case}/h0.npy --lengths ${case}/lengths.npy --batch-first
                        --device cpu --output ${WORK}/y.npy --final-state ${WORK}/hn.npy
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "valid input: exit ${rc}\n${err}")
endif()

# Malformed: a model file cut short in the middle of its data.
file(SIZE ${case}/model.safetensors size)
math(EXPR half "${size} / 2")
execute_process(COMMAND head -c ${half} ${case}/model.safetensors OUTPUT_FILE ${WORK}/truncated.safetensors)
execute_process(COMMAND ${vg} ${RNN} run --model ${WORK}/truncated.safetensors --input ${case}/x.npy
                        --output ${WORK}/y2.npy
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR rc EQUAL 99 OR NOT err MATCHES "^rnn: error: ")
  message(FATAL_ERROR "malformed input: exit ${rc}, expected 1 without valgrind errors\n${err}")
endif()
if(EXISTS ${WORK}/y2.npy)
  message(FATAL_ERROR "malformed input: an output file was written")
endif()
message(STATUS "valgrind: clean on a valid and on a malformed input")
