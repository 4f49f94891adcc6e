import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * pgjdbc on numeric without a precision (tests/test_numeric_compat.py): each argument
 * after the URL is a statement; a query prints its ResultSetMetaData ("meta" lines, from
 * the RowDescription) and every value through getString and getBigDecimal ("value"
 * lines: plain text and scale); a statement with "?" is run once with
 * setBigDecimal(1, new BigDecimal("1.25")); an error prints its SQLSTATE.
 * Usage: java -cp postgresql.jar:. JdbcNumeric JDBC_URL STATEMENT...
 */
public class JdbcNumeric {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            conn.setAutoCommit(true);
            for (int a = 1; a < args.length; a++) {
                String sql = args[a];
                try (PreparedStatement st = conn.prepareStatement(sql)) {
                    if (sql.contains("?")) {
                        st.setBigDecimal(1, new BigDecimal("1.25"));
                    }
                    if (!st.execute()) {
                        System.out.println("done | " + a);
                        continue;
                    }
                    try (ResultSet rs = st.getResultSet()) {
                        ResultSetMetaData md = rs.getMetaData();
                        for (int i = 1; i <= md.getColumnCount(); i++) {
                            System.out.println("meta | " + a + " | " + md.getColumnName(i) + " | "
                                + md.getColumnType(i) + " | " + md.getColumnTypeName(i) + " | "
                                + md.getPrecision(i) + " | " + md.getScale(i));
                        }
                        int row = 0;
                        while (rs.next()) {
                            row++;
                            for (int i = 1; i <= md.getColumnCount(); i++) {
                                String text = rs.getString(i);
                                String big = "null";
                                if (text != null && md.getColumnType(i) == java.sql.Types.NUMERIC) {
                                    BigDecimal d = rs.getBigDecimal(i);
                                    big = d.toPlainString() + " scale " + d.scale();
                                }
                                System.out.println("value | " + a + " | " + row + " | " + i
                                    + " | " + text + " | " + big);
                            }
                        }
                    }
                } catch (SQLException e) {
                    System.out.println("error | " + a + " | " + e.getSQLState());
                }
            }
        }
    }
}
